// The mma.sync int8 GEMM of gemm_i8.cu run whole on the host under the SIMT emulator (simt_emu.hpp): its staging
// (cp.async done at once), double buffering, fragment loads, mma.sync (the warp's fragments gathered and the product
// emulated by gemm.cuh) and bounds-checked stores, launched by name with the runtime's grid and arguments.
#include "simt_emu.hpp"

#include "gemm_i8.cu"

extern "C" {

// Launch of `entry` with grid (gx, gy), block threads and the kernel's arguments as 64-bit words (pointers are host
// addresses; 32-bit arguments in the low half). Returns 0, or -1 for an unknown entry, a wrong argument count or
// a launch the emulator cannot run.
int cuproof_emu_launch_gemm(const char* entry, uint32_t gx, uint32_t gy, uint32_t block, const uint64_t* a,
                            uint32_t nargs) {
    const dim3 grid = dim3{gx, gy, 1u}, blk = dim3{block, 1u, 1u};
    if (strcmp(entry, "cuproof_gemm_i8") == 0 && nargs == 6) {
        auto f = [&]() {
            cuproof_gemm_i8((const int8_t*)a[0], (const int8_t*)a[1], (int32_t*)a[2], (int)a[3], (int)a[4], (int)a[5]);
        };
        return emu_launch(grid, blk, f);
    }
    return -1;
}

}  // extern "C"
