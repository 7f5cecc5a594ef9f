/* bench/media's in-process reference: the work of one picture upload done by libvips alone, in
 * one process, without the cost of starting the `vips` CLI 9 times per picture.
 *   vips_reference SECONDS PICTURE [PICTURE ...]
 * One picture after another (single-threaded libvips, operation cache off, as the server runs
 * it) until SECONDS have passed; prints the milliseconds of each picture, one a line. Per
 * picture, from the JPEG bytes in memory: thumbnail to 1600, 640 and 160 (longest side, shrink
 * only), each saved to memory as WebP (Q=80, strip) and JPEG (Q=82, strip, optimize_coding). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <vips/vips.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000.0 + t.tv_nsec / 1e6;
}

static int one_picture(const void* bytes, size_t length) {
  static const int sizes[] = {1600, 640, 160};
  for (int i = 0; i < 3; i++) {
    VipsImage* thumb = NULL;
    void* out = NULL;
    size_t out_length = 0;
    if (vips_thumbnail_buffer((void*)bytes, length, &thumb, sizes[i], "height", sizes[i], "size",
                              VIPS_SIZE_DOWN, NULL))
      return -1;
    /* Decoded once: both savers read these pixels (the CLI chain writes a .v file). */
    VipsImage* pixels = vips_image_copy_memory(thumb);
    g_object_unref(thumb);
    if (!pixels) return -1;
    thumb = pixels;
    if (vips_webpsave_buffer(thumb, &out, &out_length, "Q", 80, "strip", TRUE, NULL)) return -1;
    g_free(out);
    if (vips_jpegsave_buffer(thumb, &out, &out_length, "Q", 82, "strip", TRUE, "optimize_coding",
                             TRUE, NULL))
      return -1;
    g_free(out);
    g_object_unref(thumb);
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s SECONDS PICTURE [PICTURE ...]\n", argv[0]);
    return 2;
  }
  if (VIPS_INIT(argv[0])) vips_error_exit(NULL);
  vips_concurrency_set(1);
  vips_cache_set_max(0);
  int count = argc - 2;
  gchar** data = g_new(gchar*, count);
  gsize* lengths = g_new(gsize, count);
  for (int i = 0; i < count; i++)
    if (!g_file_get_contents(argv[i + 2], &data[i], &lengths[i], NULL)) {
      fprintf(stderr, "cannot read %s\n", argv[i + 2]);
      return 1;
    }
  double deadline = now_ms() + atof(argv[1]) * 1000.0;
  for (int n = 0; now_ms() < deadline; n++) {
    double t0 = now_ms();
    if (one_picture(data[n % count], lengths[n % count])) vips_error_exit(NULL);
    printf("%.3f\n", now_ms() - t0);
    fflush(stdout);
  }
  vips_shutdown();
  return 0;
}
