#include <boost/test/unit_test.hpp>
#include <string>
#include <string_view>

#include "http/multipart.hpp"
#include "protocols/errors.hpp"

using namespace wassally;
using namespace wassally::http;
using namespace std::string_literals;

namespace {

const std::string curl_boundary = "------------------------d74496d66958873e";

/// The part's data lies inside `body` (a view, not a copy).
bool inside(std::string_view body, std::string_view data) {
  return data.data() >= body.data() && data.data() + data.size() <= body.data() + body.size();
}

/// parse_multipart must refuse with 400 malformed_request.
void expect_malformed(std::string_view body, std::string_view boundary) {
  try {
    auto parts = parse_multipart(body, boundary);
    BOOST_ERROR("accepted with " << parts.size() << " parts: " << body.substr(0, 200));
  } catch (const api_exception& e) {
    BOOST_TEST(e.error.status == 400);
    BOOST_TEST(e.error.code == "malformed_request");
  }
}

std::string field(const std::string& boundary, const std::string& name, const std::string& data) {
  return "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" +
         data + "\r\n";
}

/// The boundary, or "<none>" (printable, and no dereference of an empty optional).
std::string boundary_of(const std::string& content_type) {
  return multipart_boundary(content_type).value_or("<none>");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(multipart_suite)

BOOST_AUTO_TEST_CASE(boundary_of_what_clients_send) {
  // curl -F
  BOOST_TEST(boundary_of("multipart/form-data; boundary=" + curl_boundary) == curl_boundary);
  // Chrome / Firefox
  BOOST_TEST(boundary_of("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW") ==
             "----WebKitFormBoundary7MA4YWxkTrZu0gW");
  BOOST_TEST(
      boundary_of(
          "multipart/form-data; boundary=---------------------------974767299852498929531610575") ==
      "---------------------------974767299852498929531610575");
  // OkHttp (a UUID), Python requests (32 hex digits)
  BOOST_TEST(boundary_of("multipart/form-data; boundary=0bc6a1b4-2e45-4f0f-9e6a-8f1c1a3f6e21") ==
             "0bc6a1b4-2e45-4f0f-9e6a-8f1c1a3f6e21");
  BOOST_TEST(boundary_of("multipart/form-data; boundary=5b3a9a4f2d1e4c7b8f0e6d2c1b0a9f8e") ==
             "5b3a9a4f2d1e4c7b8f0e6d2c1b0a9f8e");
}

BOOST_AUTO_TEST_CASE(boundary_quoted_case_insensitive_and_special_chars) {
  BOOST_TEST(boundary_of(R"(multipart/form-data; boundary="----abc")") == "----abc");
  BOOST_TEST(boundary_of("Multipart/Form-Data; BOUNDARY=abc") == "abc");
  BOOST_TEST(boundary_of("multipart/form-data;boundary=abc") == "abc");
  BOOST_TEST(boundary_of("multipart/form-data; charset=utf-8; boundary=abc") == "abc");
  BOOST_TEST(boundary_of("multipart/form-data; boundary=abc; charset=utf-8") == "abc");
  BOOST_TEST(boundary_of(R"(multipart/form-data; boundary="'()+_,-./:=? x")") == "'()+_,-./:=? x");
  BOOST_TEST(boundary_of("multipart/form-data; boundary=a'+_-.9") == "a'+_-.9");
  BOOST_TEST(boundary_of("multipart/form-data; boundary=" + std::string(70, 'x')) ==
             std::string(70, 'x'));
}

BOOST_AUTO_TEST_CASE(boundary_refused) {
  for (const std::string& ct : std::initializer_list<std::string>{
           "application/json", "multipart/mixed; boundary=abc", "multipart/form-data",
           "multipart/form-data;",
           "multipart/form-data; boundary=", R"(multipart/form-data; boundary="")",
           R"(multipart/form-data; boundary="abc )", R"(multipart/form-data; boundary="abc ")",
           R"(multipart/form-data; boundary="a@b")", "multipart/form-data; boundary=a; boundary=b",
           "multipart/form-data; boundary", "multipart/form-data boundary=abc",
           "multipart/form-data; boundary=" + std::string(71, 'x'), ""})
    BOOST_TEST(!multipart_boundary(ct).has_value(), ct);
}

BOOST_AUTO_TEST_CASE(curl_body) {
  const std::string body =
      "--" + curl_boundary +
      "\r\n"
      "Content-Disposition: form-data; name=\"person\"\r\n"
      "\r\n"
      "anonymous\r\n"
      "--" +
      curl_boundary +
      "\r\n"
      "Content-Disposition: form-data; name=\"secret\"; filename=\"file.txt\"\r\n"
      "Content-Type: text/plain\r\n"
      "\r\n"
      "contents of the file\r\n"
      "--" +
      curl_boundary + "--\r\n";
  auto parts = parse_multipart(body, curl_boundary);
  BOOST_TEST_REQUIRE(parts.size() == 2u);
  BOOST_TEST(parts[0].name == "person");
  BOOST_TEST(parts[0].filename == "");
  BOOST_TEST(parts[0].content_type == "");
  BOOST_TEST(parts[0].data == "anonymous");
  BOOST_TEST(parts[1].name == "secret");
  BOOST_TEST(parts[1].filename == "file.txt");
  BOOST_TEST(parts[1].content_type == "text/plain");
  BOOST_TEST(parts[1].data == "contents of the file");
  for (auto& p : parts) BOOST_TEST(inside(body, p.data));
}

BOOST_AUTO_TEST_CASE(browser_image_upload_and_several_fields) {
  const std::string b = "----WebKitFormBoundary7MA4YWxkTrZu0gW";
  const std::string jpeg = "\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\r\n\xFF\xD9"s;
  const std::string body = field(b, "title", "Tomatoes") + field(b, "price", "12.50") + "--" + b +
                           "\r\nContent-Disposition: form-data; name=\"image\"; "
                           "filename=\"photo 1.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n" +
                           jpeg + "\r\n" + field(b, "stock", "3") + "--" + b + "--\r\n";
  auto parts = parse_multipart(body, b);
  BOOST_TEST_REQUIRE(parts.size() == 4u);
  BOOST_TEST(parts[0].name == "title");
  BOOST_TEST(parts[0].data == "Tomatoes");
  BOOST_TEST(parts[1].name == "price");
  BOOST_TEST(parts[1].data == "12.50");
  BOOST_TEST(parts[2].name == "image");
  BOOST_TEST(parts[2].filename == "photo 1.jpg");
  BOOST_TEST(parts[2].content_type == "image/jpeg");
  BOOST_TEST(parts[2].data == jpeg);
  BOOST_TEST(parts[2].data.size() == jpeg.size());
  BOOST_TEST(parts[3].name == "stock");
  BOOST_TEST(parts[3].data == "3");
  for (auto& p : parts) BOOST_TEST(inside(body, p.data));
}

BOOST_AUTO_TEST_CASE(okhttp_and_requests_bodies) {
  // OkHttp writes Content-Length per part and a charset on text parts.
  const std::string ok = "0bc6a1b4-2e45-4f0f-9e6a-8f1c1a3f6e21";
  const std::string okbody = "--" + ok +
                             "\r\nContent-Disposition: form-data; name=\"note\"\r\n"
                             "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 2\r\n\r\n"
                             "hi\r\n--" +
                             ok + "--\r\n";
  auto parts = parse_multipart(okbody, ok);
  BOOST_TEST_REQUIRE(parts.size() == 1u);
  BOOST_TEST(parts[0].name == "note");
  BOOST_TEST(parts[0].content_type == "text/plain");
  BOOST_TEST(parts[0].data == "hi");

  // Python requests: files=..., no preamble, closing delimiter and CRLF.
  const std::string py = "5b3a9a4f2d1e4c7b8f0e6d2c1b0a9f8e";
  const std::string pybody =
      "--" + py +
      "\r\nContent-Disposition: form-data; name=\"image\"; "
      "filename=\"a.jpg\"\r\nContent-Type: Image/JPEG\r\n\r\nJPEGDATA\r\n--" +
      py + "--\r\n";
  parts = parse_multipart(pybody, py);
  BOOST_TEST_REQUIRE(parts.size() == 1u);
  BOOST_TEST(parts[0].filename == "a.jpg");
  BOOST_TEST(parts[0].content_type == "image/jpeg");
  BOOST_TEST(parts[0].data == "JPEGDATA");
}

BOOST_AUTO_TEST_CASE(boundary_with_special_chars) {
  const std::string b = "'()+_,-./:=? x";
  const std::string body = field(b, "a", "1") + field(b, "b", "2") + "--" + b + "--";
  auto parts = parse_multipart(body, b);
  BOOST_TEST_REQUIRE(parts.size() == 2u);
  BOOST_TEST(parts[0].data == "1");
  BOOST_TEST(parts[1].data == "2");
}

BOOST_AUTO_TEST_CASE(binary_data_with_line_ends_dashes_and_partial_boundaries) {
  const std::string b = "XyZ123";
  const std::string data =
      "\r\n\r\n\r\r\n\n--\r\n--\r\n--XyZ\r\n--XyZ12\r\n-XyZ123\n--XyZ123"
      "\r--XyZ123\r\n--XyZ123X\r\n--XyZ123-x\x00\xFF\r\n-"s;
  const std::string body =
      "--" + b +
      "\r\nContent-Disposition: form-data; name=\"blob\"; filename=\"b.bin\"\r\n"
      "Content-Type: application/octet-stream\r\n\r\n" +
      data + "\r\n--" + b + "--\r\n";
  auto parts = parse_multipart(body, b);
  BOOST_TEST_REQUIRE(parts.size() == 1u);
  BOOST_TEST(parts[0].data == data);
  BOOST_TEST(parts[0].data.size() == data.size());
  BOOST_TEST(parts[0].content_type == "application/octet-stream");
  BOOST_TEST(inside(body, parts[0].data));
}

BOOST_AUTO_TEST_CASE(ten_mib_of_near_delimiters) {
  // 10 MiB of data that is almost a delimiter all along: one linear pass, one view.
  const std::string b = "XyZ123";
  std::string data;
  while (data.size() < 10 * 1024 * 1024) data += "\r\n--XyZ12\r\n--XyZ123X";
  const std::string body = field(b, "big", data) + "--" + b + "--";
  auto parts = parse_multipart(body, b);
  BOOST_TEST_REQUIRE(parts.size() == 1u);
  BOOST_TEST(parts[0].data.size() == data.size());
  BOOST_TEST((parts[0].data == data));
  BOOST_TEST(inside(body, parts[0].data));
}

BOOST_AUTO_TEST_CASE(empty_parts_and_empty_form) {
  const std::string b = "b";
  const std::string body = field(b, "empty", "") + field(b, "x", "1") + "--b--";
  auto parts = parse_multipart(body, b);
  BOOST_TEST_REQUIRE(parts.size() == 2u);
  BOOST_TEST(parts[0].name == "empty");
  BOOST_TEST(parts[0].data.empty());
  BOOST_TEST(parts[1].data == "1");
  // What browsers send for a form without fields.
  BOOST_TEST(parse_multipart("--b--\r\n", b).empty());
}

BOOST_AUTO_TEST_CASE(preamble_and_epilogue_are_ignored) {
  const std::string b = "b";
  const std::string body = "This is the preamble. --b is not at a line start.\r\n" +
                           field(b, "a", "1") + "--b--\r\nThis is the epilogue.\r\n--b\r\n" +
                           field(b, "z", "9");
  auto parts = parse_multipart(body, b);
  BOOST_TEST_REQUIRE(parts.size() == 1u);
  BOOST_TEST(parts[0].name == "a");
  BOOST_TEST(parts[0].data == "1");
}

BOOST_AUTO_TEST_CASE(tolerated_header_forms) {
  // Case-insensitive header and parameter names, bare LF in the headers, transport padding,
  // unknown headers, escaped quotes, unquoted names.
  const std::string body =
      "--b \t\nCONTENT-DISPOSITION:FORM-DATA; NAME=first; FILENAME=\"a\\\"b%22c\\\\d\\e\"\n"
      "content-type:  TEXT/Plain ; charset=UTF-8\nX-Other: whatever\n\nv\r\n--b--";
  auto parts = parse_multipart(body, "b");
  BOOST_TEST_REQUIRE(parts.size() == 1u);
  BOOST_TEST(parts[0].name == "first");
  BOOST_TEST(parts[0].filename == "a\"b%22c\\d\\e");
  BOOST_TEST(parts[0].content_type == "text/plain");
  BOOST_TEST(parts[0].data == "v");
}

BOOST_AUTO_TEST_CASE(sixteen_parts_but_not_seventeen) {
  std::string body;
  for (int i = 0; i < 16; ++i) body += field("b", "f" + std::to_string(i), std::to_string(i));
  const std::string sixteen = body + "--b--";
  auto parts = parse_multipart(sixteen, "b");
  BOOST_TEST_REQUIRE(parts.size() == 16u);
  BOOST_TEST(parts[15].name == "f15");
  BOOST_TEST(parts[15].data == "15");
  expect_malformed(body + field("b", "f16", "16") + "--b--", "b");
}

BOOST_AUTO_TEST_CASE(header_line_of_8_kib_but_not_more) {
  auto with_line = [](std::size_t length) {
    return "--b\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Pad: " +
           std::string(length - 7, 'p') + "\r\n\r\nv\r\n--b--";
  };
  const std::string longest = with_line(8192);
  auto parts = parse_multipart(longest, "b");
  BOOST_TEST_REQUIRE(parts.size() == 1u);
  BOOST_TEST(parts[0].data == "v");
  expect_malformed(with_line(8193), "b");
  expect_malformed(with_line(100000), "b");
  // An unterminated long line at the end of the body.
  expect_malformed("--b\r\nX-Pad: " + std::string(20000, 'p'), "b");
}

BOOST_AUTO_TEST_CASE(missing_closing_delimiter) {
  expect_malformed(field("b", "a", "1"), "b");                     // no close at all
  expect_malformed(field("b", "a", "1") + "--b\r\n", "b");         // final "--" missing
  expect_malformed(field("b", "a", "1") + "--b", "b");             // ends at the boundary
  expect_malformed(field("b", "a", "1") + "--b-", "b");            // half a close
  expect_malformed(field("b", "a", "1") + "--b x\r\n--b--", "b");  // garbage after a delimiter
  expect_malformed("--b\r\nContent-Disposition: form-data; name=a\r\n\r\nno end", "b");
}

BOOST_AUTO_TEST_CASE(missing_headers_or_blank_line) {
  expect_malformed("--b\r\n\r\ndata\r\n--b--", "b");  // no Content-Disposition
  expect_malformed("--b\r\nContent-Type: text/plain\r\n\r\ndata\r\n--b--", "b");
  expect_malformed("--b\r\nContent-Disposition: form-data; name=a\r\ndata\r\n--b--", "b");
  expect_malformed("--b\r\nContent-Disposition: form-data; name=a\r\n--b--", "b");
  expect_malformed("--b:x\r\nContent-Disposition: form-data; name=a\r\n--b:x--", "b:x");
  expect_malformed("--b\r\nContent-Disposition: form-data; name=a", "b");
  expect_malformed("--b\r\nContent-Disposition: form-data; name=a\r\n", "b");
}

BOOST_AUTO_TEST_CASE(malformed_part_headers) {
  auto with = [](const std::string& headers) { return "--b\r\n" + headers + "\r\n\r\nv\r\n--b--"; };
  expect_malformed(with("Content-Disposition: attachment; name=a"), "b");
  expect_malformed(with("Content-Disposition: form-data"), "b");
  expect_malformed(with("Content-Disposition: form-data; filename=x"), "b");
  expect_malformed(with("Content-Disposition: form-data; name=\"a"), "b");
  expect_malformed(with("Content-Disposition: form-data; name=a; name=b"), "b");
  expect_malformed(with("Content-Disposition: form-data; name"), "b");
  expect_malformed(with("Content-Disposition: form-data; name=a\r\nContent-Disposition: "
                        "form-data; name=b"),
                   "b");
  expect_malformed(with("Content-Disposition: form-data; name=a\r\nContent-Type: image"), "b");
  expect_malformed(with("Content-Disposition: form-data; name=a\r\nContent-Type: "), "b");
  expect_malformed(with("Content-Disposition: form-data; name=a\r\nContent-Type: a/b\r\n"
                        "Content-Type: c/d"),
                   "b");
  expect_malformed(with("Content-Disposition: form-data; name=a\r\n folded"), "b");
  expect_malformed(with("Content-Disposition: form-data; name=a\r\nno colon"), "b");
  expect_malformed(with("Content-Disposition: form-data; name=a\r\nBad Name: x"), "b");
}

BOOST_AUTO_TEST_CASE(wrong_or_invalid_boundary) {
  const std::string body = field("b", "a", "1") + "--b--";
  expect_malformed(body, "c");
  expect_malformed(body, "bb");
  expect_malformed(body, "");
  expect_malformed(body, "a@b");
  expect_malformed(body, "b ");
  expect_malformed("", "b");
  // 70 characters is the longest boundary; 71 is refused.
  const std::string b70(70, 'z');
  BOOST_TEST(parse_multipart(field(b70, "a", "1") + "--" + b70 + "--", b70).size() == 1u);
  const std::string b71(71, 'z');
  expect_malformed(field(b71, "a", "1") + "--" + b71 + "--", b71);
}

BOOST_AUTO_TEST_CASE(every_truncation_is_refused) {
  const std::string b = "----WebKitFormBoundary7MA4YWxkTrZu0gW";
  const std::string close = "--" + b + "--";
  const std::string body = field(b, "title", "Tomatoes") + "--" + b +
                           "\r\nContent-Disposition: form-data; name=\"image\"; "
                           "filename=\"p.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n\xFF\xD8\r\n" +
                           close + "\r\n";
  const auto complete = body.find(close) + close.size();
  for (std::size_t n = 0; n < complete; ++n) {
    // A copy of exactly n bytes, so that reading past its end is caught by sanitizers.
    const std::string cut = body.substr(0, n);
    expect_malformed(cut, b);
  }
  for (std::size_t n = complete; n <= body.size(); ++n)
    BOOST_TEST(parse_multipart(body.substr(0, n), b).size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
