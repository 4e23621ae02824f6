/* fuzz_b64: base64. The input is encoded and decoded back (it must come
 * back unchanged), and decoded as text (at most 3 bytes per 4
 * characters). */
#include "harness.h"

#include <string.h>

#include "ssd_b64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const char *text = ssd_b64_encode(p, data, size), *s;
    unsigned char *back;
    apr_size_t n = 0;

    FUZZ_ASSERT(text && strlen(text) == 4 * ((size + 2) / 3));
    back = ssd_b64_decode(p, text, &n);
    FUZZ_ASSERT(size == 0 ? back == NULL
                : back && n == size && !memcmp(back, data, size));
    s = fuzz_cstr(p, data, size);
    n = 0;
    if (ssd_b64_decode(p, s, &n)) {
        FUZZ_ASSERT(n <= strlen(s) / 4 * 3);
    }
    apr_pool_destroy(p);
    return 0;
}
