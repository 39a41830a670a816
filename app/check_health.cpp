#include "app/check_health.hpp"

#include <cstdlib>
#include <iostream>
#include <memory>

#include <curl/curl.h>

namespace motorhead {

std::string default_health_url() {
  const char* port = std::getenv("PORT");
  return std::string{"http://127.0.0.1:"} + (port && *port ? port : "8000")
         + "/readyz";
}

int check_health(const std::string& url) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl{curl_easy_init(),
                                                           curl_easy_cleanup};
  if (!curl) {
    std::cerr << "motorhead --check-health: cannot start libcurl\n";
    return EXIT_FAILURE;
  }
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  // The answer's body is not needed: only its status.
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION,
                   +[](char*, size_t size, size_t count, void*) {
                     return size * count;
                   });
  if (auto err = curl_easy_perform(curl.get()); err != CURLE_OK) {
    std::cerr << "motorhead --check-health: " << url << ": "
              << curl_easy_strerror(err) << "\n";
    return EXIT_FAILURE;
  }
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status > 299) {
    std::cerr << "motorhead --check-health: " << url << " answered " << status
              << "\n";
    return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}

} // namespace motorhead
