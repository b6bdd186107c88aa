// libFuzzer's entry point for programs that keep their own main (see Fuzz/README.md). Only the
// fuzzing builds (`-sanitize=fuzzer`) link libFuzzer and call it; the declaration alone costs
// the ordinary builds nothing.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
