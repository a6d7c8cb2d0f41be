//! Build script of the root package `cuproof`.
//!
//! 1. Compiles the portable kernel math (`kernels/*.cuh` through `kernels/host_api.cpp`) for the host with the `cc`
//!    crate, so that CPU tests run the very source the GPU runs.
//! 2. PTX: when nvcc 13.0.x is found (env `NVCC`, else `nvcc` on `PATH`, else `$CUDA_PATH/bin/nvcc`, else the PyPI
//!    install under `<workspace>/.tools/cuda-venv`; env `CUPROOF_NO_NVCC` disables the search), compiles each `kernels/*.cu` to PTX for `sm_80` (ISA 9.0; the `*_sm90.cu` modules for `compute_90a`);
//!    otherwise uses the committed PTX under `kernels/ptx/`. Every PTX module (also the hand-written
//!    `kernels/keccak.ptx`) is validated with `ptxas` for sm_80 and sm_90 (the sm_90a module for sm_90a) when ptxas is found. The modules are exposed
//!    as `&'static str` constants through `$OUT_DIR/ptx.rs`.
//! 3. With feature `cuda` and no real `libcuda.so` on the machine, generates a stub `libcuda.so` (SONAME
//!    `libcuda.so.1`) exporting every `cu*` symbol cust_raw declares, each returning CUDA_ERROR_NO_DEVICE (100).

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// CUDA C modules compiled to PTX: (file stem, constant name, nvcc target, ptxas targets it is validated for).
/// `gemm_i8_sm90` (wgmma, setmaxnreg), `freivalds_sm90` (bulk copies, mbarrier transactions) and
/// `freivalds_pdl_sm90` (freivalds.cu with griddepcontrol) use Hopper-only instructions: compute_90a, loadable on
/// sm_90 only.
const MODULES: &[(&str, &str, &str, &[&str])] = &[
    (
        "keccak_merkle",
        "KECCAK_MERKLE",
        "-arch=sm_80",
        &["sm_80", "sm_90"],
    ),
    ("gemm_i8", "GEMM_I8", "-arch=sm_80", &["sm_80", "sm_90"]),
    ("freivalds", "FREIVALDS", "-arch=sm_80", &["sm_80", "sm_90"]),
    (
        "gemm_i8_sm90",
        "GEMM_I8_SM90",
        "-gencode=arch=compute_90a,code=compute_90a",
        &["sm_90a"],
    ),
    (
        "freivalds_sm90",
        "FREIVALDS_SM90",
        "-gencode=arch=compute_90a,code=compute_90a",
        &["sm_90a"],
    ),
    (
        "freivalds_pdl_sm90",
        "FREIVALDS_PDL_SM90",
        "-gencode=arch=compute_90a,code=compute_90a",
        &["sm_90a"],
    ),
];

/// The pinned nvcc release: PTX newer than ISA 9.0 does not load on driver 580.
const NVCC_RELEASE: &str = "release 13.0,";

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let kdir = root.join("kernels");
    for f in [
        "common.cuh",
        "keccak.cuh",
        "gemm.cuh",
        "gemm_sm90.cuh",
        "sm90.cuh",
        "freivalds.cuh",
        "freivalds_tc.cuh",
        "host_api.cpp",
        "simt_emu.hpp",
        "emu_freivalds.cpp",
        "emu_keccak.cpp",
        "emu_gemm.cpp",
        "keccak.ptx",
        "cuda_stub_symbols.txt",
    ] {
        println!("cargo:rerun-if-changed=kernels/{f}");
    }
    for (stem, ..) in MODULES {
        println!("cargo:rerun-if-changed=kernels/{stem}.cu");
        println!("cargo:rerun-if-changed=kernels/ptx/{stem}.ptx");
    }
    for v in [
        "NVCC",
        "PTXAS",
        "CUDA_PATH",
        "PATH",
        "CUPROOF_LIBCUDA_DIR",
        "CUPROOF_NO_NVCC",
    ] {
        println!("cargo:rerun-if-env-changed={v}");
    }

    // 1. host build of the kernel math
    cc::Build::new()
        .cpp(true)
        .file(kdir.join("host_api.cpp"))
        .include(&kdir)
        .flag_if_supported("-std=c++17")
        .flag_if_supported("-fno-exceptions")
        .flag_if_supported("-fno-rtti")
        // the kernel math uses no C++ runtime: do not make binaries depend on libstdc++
        .cpp_link_stdlib(None)
        .define("CUPROOF_HOST_BUILD", "1")
        .opt_level(2)
        .warnings(true)
        .compile("cuproof_kernels_host");
    // the Freivalds kernels whole (freivalds.cu's __global__ functions) under the SIMT emulator, for the CPU tests
    // (POSIX threads and Linux futexes)
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        emu_build(&kdir);
    }

    // 2. PTX
    let nvcc = find_nvcc(&root);
    let ptxas = find_ptxas(nvcc.as_deref());
    let mut consts = String::new();
    let source = match &nvcc {
        Some(p) => format!("nvcc:{}", p.display()),
        None => "committed".to_string(),
    };
    consts.push_str(&format!(
        "/// Where the PTX constants come from: `committed` or `nvcc:<path>`.\npub const PTX_ORIGIN: &str = {source:?};\n"
    ));
    for (stem, name, target, archs) in MODULES {
        let committed = kdir.join("ptx").join(format!("{stem}.ptx"));
        let used = match &nvcc {
            Some(nvcc) => {
                let fresh = out.join(format!("{stem}.ptx"));
                let src = kdir.join(format!("{stem}.cu"));
                let key = cache_key(&[
                    b"nvcc-ptx-v1",
                    tool_identity(nvcc).as_bytes(),
                    target.as_bytes(),
                    &fs::read(&src).expect("read kernel source"),
                    &headers(&kdir),
                ]);
                cached(&out, &format!("{stem}-{key}.ptx"), &fresh, || {
                    compile_ptx(nvcc, target, &src, &kdir, &fresh)
                });
                let same = fs::read(&committed).ok() == fs::read(&fresh).ok();
                if !same {
                    println!(
                        "cargo:warning=committed kernels/ptx/{stem}.ptx is stale: regenerate it (docs/kernels.md)"
                    );
                }
                fresh
            }
            None => committed.clone(),
        };
        if !used.is_file() {
            panic!(
                "no PTX for kernels/{stem}.cu: nvcc 13.0.x not found and kernels/ptx/{stem}.ptx missing"
            );
        }
        if let Some(ptxas) = &ptxas {
            validate_ptx(ptxas, &used, &out, archs);
        }
        consts.push_str(&format!(
            "/// PTX of `kernels/{stem}.cu` (freshly compiled when nvcc is present, else committed).\npub const {name}: &str = include_str!({:?});\n",
            used.display().to_string()
        ));
        consts.push_str(&format!(
            "/// Committed PTX `kernels/ptx/{stem}.ptx`.\npub const {name}_COMMITTED: &str = include_str!({:?});\n",
            committed.display().to_string()
        ));
    }
    let hand = kdir.join("keccak.ptx");
    if let Some(ptxas) = &ptxas {
        validate_ptx(ptxas, &hand, &out, &["sm_80", "sm_90"]);
    }
    consts.push_str(&format!(
        "/// Hand-written PTX `kernels/keccak.ptx` (Keccak-f\\[1600\\] batch permutation).\npub const KECCAK_F1600: &str = include_str!({:?});\n",
        hand.display().to_string()
    ));
    consts.push_str(&format!(
        "/// Whether the PTX was validated by ptxas for sm_80 and sm_90 in this build.\npub const PTXAS_VALIDATED: bool = {};\n",
        ptxas.is_some()
    ));
    fs::write(out.join("ptx.rs"), consts).expect("write ptx.rs");

    // 3. stub libcuda
    if env::var_os("CARGO_FEATURE_CUDA").is_some() {
        match find_real_libcuda() {
            Some(dir) => {
                println!("cargo:rustc-link-search=native={}", dir.display());
                println!("cargo:rustc-env=CUPROOF_LIBCUDA=real:{}", dir.display());
            }
            None => {
                let dir = build_stub_libcuda(&kdir.join("cuda_stub_symbols.txt"), &out);
                println!("cargo:rustc-link-search=native={}", dir.display());
                println!("cargo:rustc-env=CUPROOF_LIBCUDA=stub:{}", dir.display());
            }
        }
    }
}

fn exists(p: &Path) -> Option<PathBuf> {
    p.is_file().then(|| p.to_path_buf())
}

fn on_path(name: &str) -> Option<PathBuf> {
    env::var_os("PATH")
        .and_then(|paths| env::split_paths(&paths).find_map(|d| exists(&d.join(name))))
}

fn nvcc_version_ok(nvcc: &Path) -> bool {
    match Command::new(nvcc).arg("--version").output() {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            if text.contains(NVCC_RELEASE) {
                true
            } else {
                println!(
                    "cargo:warning=ignoring {} (not nvcc 13.0.x): using committed PTX",
                    nvcc.display()
                );
                false
            }
        }
        _ => false,
    }
}

fn find_nvcc(root: &Path) -> Option<PathBuf> {
    if env::var_os("CUPROOF_NO_NVCC").is_some() {
        return None;
    }
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = env::var_os("NVCC") {
        candidates.push(PathBuf::from(p));
    }
    if let Some(p) = on_path("nvcc") {
        candidates.push(p);
    }
    if let Some(p) = env::var_os("CUDA_PATH") {
        candidates.push(PathBuf::from(p).join("bin/nvcc"));
    }
    let venv = root.join(".tools/cuda-venv/lib");
    if let Ok(rd) = fs::read_dir(&venv) {
        for e in rd.flatten() {
            candidates.push(e.path().join("site-packages/nvidia/cu13/bin/nvcc"));
        }
    }
    candidates
        .into_iter()
        .find(|c| c.is_file() && nvcc_version_ok(c))
}

fn find_ptxas(nvcc: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = env::var_os("PTXAS") {
        return exists(Path::new(&p));
    }
    if let Some(n) = nvcc {
        if let Some(p) = n.parent().and_then(|d| exists(&d.join("ptxas"))) {
            return Some(p);
        }
    }
    on_path("ptxas")
}

fn compile_ptx(nvcc: &Path, target: &str, src: &Path, include: &Path, dst: &Path) {
    let status = Command::new(nvcc)
        .args(["-ptx", target, "-O3", "-std=c++17", "-I"])
        .arg(include)
        .arg(src)
        .arg("-o")
        .arg(dst)
        .status()
        .unwrap_or_else(|e| panic!("running {}: {e}", nvcc.display()));
    if !status.success() {
        panic!("nvcc failed on {}", src.display());
    }
}

fn validate_ptx(ptxas: &Path, ptx: &Path, out: &Path, archs: &[&str]) {
    let ptx_bytes = fs::read(ptx).expect("read PTX");
    for arch in archs {
        let key = cache_key(&[
            b"ptxas-ok-v1",
            tool_identity(ptxas).as_bytes(),
            arch.as_bytes(),
            &ptx_bytes,
        ]);
        let marker = cache_dir(out).join(format!("ptxas-{arch}-{key}.ok"));
        if marker.is_file() {
            continue;
        }
        let o = Command::new(ptxas)
            .arg(format!("-arch={arch}"))
            .arg(ptx)
            .arg("-o")
            .arg(out.join("ptxas-check.cubin"))
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", ptxas.display()));
        if !o.status.success() {
            panic!(
                "ptxas -arch={arch} rejects {}:\n{}",
                ptx.display(),
                String::from_utf8_lossy(&o.stderr)
            );
        }
        let _ = fs::write(&marker, b"");
    }
}

/// A cache of nvcc's and ptxas's results shared by every run of this build script in one target directory
/// (`<target>/<profile>/.cuproof-build-cache`): the default build and `--features cuda` are two runs of it, and
/// nvcc at -O3 plus ptxas for two architectures per module is most of its time. Keyed by the tool (path, size,
/// mtime), its flags and every input byte, so a hit is the output those inputs give.
fn cache_dir(out: &Path) -> PathBuf {
    // OUT_DIR is <target>/<profile>/build/cuproof-<hash>/out
    let dir = out
        .ancestors()
        .nth(3)
        .map(|p| p.join(".cuproof-build-cache"))
        .unwrap_or_else(|| out.join("cache"));
    let _ = fs::create_dir_all(&dir);
    dir
}

/// `make` writes `dst`; served from the cache entry `name` when present, stored there after a miss.
fn cached(out: &Path, name: &str, dst: &Path, make: impl FnOnce()) {
    let entry = cache_dir(out).join(name);
    if entry.is_file() && fs::copy(&entry, dst).is_ok() {
        return;
    }
    make();
    // written under a temporary name and renamed, so a concurrent build never reads half an entry
    let tmp = entry.with_extension(format!("tmp{}", std::process::id()));
    if fs::copy(dst, &tmp).is_ok() {
        let _ = fs::rename(&tmp, &entry);
    }
}

/// Every header a module may include.
fn headers(kdir: &Path) -> Vec<u8> {
    let mut names: Vec<PathBuf> = fs::read_dir(kdir)
        .expect("read kernels/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            matches!(
                p.extension().and_then(|x| x.to_str()),
                Some("cuh" | "h" | "hpp")
            )
        })
        .collect();
    names.sort();
    let mut all = Vec::new();
    for n in names {
        all.extend_from_slice(n.to_string_lossy().as_bytes());
        all.extend_from_slice(&fs::read(&n).expect("read header"));
    }
    all
}

fn tool_identity(tool: &Path) -> String {
    let meta = fs::metadata(tool).ok();
    let mtime = meta
        .as_ref()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{}:{}:{mtime}",
        tool.display(),
        meta.map(|m| m.len()).unwrap_or(0)
    )
}

/// 128 bits of two SipHash runs over the length-prefixed parts (a cache key, not a security boundary).
fn cache_key(parts: &[&[u8]]) -> String {
    use std::hash::Hasher;
    let mut out = String::new();
    for seed in [0x6375_7072_6f6f_6631u64, 0x7074_7863_6163_6865] {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        h.write_u64(seed);
        for p in parts {
            h.write_usize(p.len());
            h.write(p);
        }
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

/// A real driver library usable at link time (`libcuda.so`, not a toolkit stub).
fn find_real_libcuda() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(d) = env::var_os("CUPROOF_LIBCUDA_DIR") {
        dirs.push(PathBuf::from(d));
    }
    for d in [
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib64",
        "/usr/lib",
        "/usr/local/nvidia/lib64",
        "/usr/lib/wsl/lib",
    ] {
        dirs.push(PathBuf::from(d));
    }
    dirs.into_iter().find(|d| d.join("libcuda.so").exists())
}

fn build_stub_libcuda(symbols: &Path, out: &Path) -> PathBuf {
    let list = fs::read_to_string(symbols).expect("read kernels/cuda_stub_symbols.txt");
    let mut c = String::from(
        "/* generated by build.rs: stub libcuda, every entry point returns CUDA_ERROR_NO_DEVICE */\n",
    );
    let mut count = 0usize;
    for line in list.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !line.starts_with("cu")
            || !line
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
        {
            panic!("bad symbol in cuda_stub_symbols.txt: {line:?}");
        }
        c.push_str(&format!("int {line}(void) {{ return 100; }}\n"));
        count += 1;
    }
    let dir = out.join("cuda-stub");
    fs::create_dir_all(&dir).expect("mkdir cuda-stub");
    let src = dir.join("stub.c");
    fs::write(&src, c).expect("write stub.c");
    let compiler = cc::Build::new().cargo_metadata(false).get_compiler();
    let so = dir.join("libcuda.so");
    let status = compiler
        .to_command()
        .args(["-shared", "-fPIC", "-O1", "-Wl,-soname,libcuda.so.1", "-o"])
        .arg(&so)
        .arg(&src)
        .status()
        .expect("run C compiler for stub libcuda");
    if !status.success() {
        panic!("building stub libcuda failed");
    }
    fs::copy(&so, dir.join("libcuda.so.1")).expect("copy libcuda.so.1");
    if count == 0 {
        panic!("cuda_stub_symbols.txt lists no symbols");
    }
    dir
}

/// The SIMT-emulated build of the Freivalds kernels (`kernels/emu_freivalds.cpp`, `cuproof::host::emu`).
fn emu_build(kdir: &Path) {
    cc::Build::new()
        .cpp(true)
        .file(kdir.join("emu_freivalds.cpp"))
        .file(kdir.join("emu_keccak.cpp"))
        .file(kdir.join("emu_gemm.cpp"))
        .include(kdir)
        .flag_if_supported("-std=c++17")
        .flag_if_supported("-fno-exceptions")
        .flag_if_supported("-fno-rtti")
        .flag_if_supported("-pthread")
        // `#pragma unroll` is nvcc's
        .flag_if_supported("-Wno-unknown-pragmas")
        .cpp_link_stdlib(None)
        .define("CUPROOF_HOST_BUILD", "1")
        .opt_level(2)
        .warnings(true)
        .compile("cuproof_kernels_emu");
}
