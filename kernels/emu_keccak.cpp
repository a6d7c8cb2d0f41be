// The commitment and fill kernels of keccak_merkle.cu run whole on the host under the SIMT emulator
// (simt_emu.hpp), launched by name with the runtime's arguments (src/kernels/merkle.rs step_launch, fill), so the
// CPU tests run the GPU commitment's launch plan — leaves, subtree passes, root, in every schedule — with the very
// kernels nvcc compiles.
#include "simt_emu.hpp"

#include "keccak_merkle.cu"

extern "C" {

// Launch of `entry` with grid (gx, gy), block threads and the kernel's arguments as 64-bit words (pointers are host
// addresses; 32-bit arguments in the low half). Returns 0, or -1 for an unknown entry, a wrong argument count or
// a launch the emulator cannot run.
int cuproof_emu_launch_keccak(const char* entry, uint32_t gx, uint32_t gy, uint32_t block, const uint64_t* a,
                              uint32_t nargs) {
    const dim3 grid = dim3{gx, gy, 1u}, blk = dim3{block, 1u, 1u};
    if (strcmp(entry, "cuproof_merkle_leaves") == 0 && nargs == 6) {
        auto f = [&]() {
            cuproof_merkle_leaves((const uint8_t*)a[0], a[1], (uint32_t)a[2], (uint32_t)a[3], (uint64_t*)a[4], a[5]);
        };
        return emu_launch(grid, blk, f);
    }
    if (strcmp(entry, "cuproof_merkle_subtree") == 0 && nargs == 4) {
        auto f = [&]() { cuproof_merkle_subtree((const uint64_t*)a[0], a[1], (uint32_t)a[2], (uint64_t*)a[3]); };
        return emu_launch(grid, blk, f);
    }
    if (strcmp(entry, "cuproof_merkle_root") == 0 && nargs == 6) {
        auto f = [&]() {
            cuproof_merkle_root((const uint64_t*)a[0], (uint32_t)a[1], (uint32_t)a[2], a[3], (uint32_t)a[4],
                                (uint64_t*)a[5]);
        };
        return emu_launch(grid, blk, f);
    }
    if (strcmp(entry, "cuproof_fill") == 0 && nargs == 7) {
        auto f = [&]() { cuproof_fill((uint8_t*)a[0], a[1], a[2], a[3], a[4], a[5], (uint32_t)a[6]); };
        return emu_launch(grid, blk, f);
    }
    return -1;
}

}  // extern "C"
