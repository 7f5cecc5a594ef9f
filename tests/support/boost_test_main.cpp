#define BOOST_TEST_MODULE wassally
#include <boost/test/unit_test.hpp>
