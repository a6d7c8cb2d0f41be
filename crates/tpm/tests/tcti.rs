//! TCTI resolution from the environment (one test: the environment is process-global).

use cuproof_tpm::{configured_tcti, resolve_tcti, Tpm, TpmError, DEFAULT_TCTI, TCTI_ENV_VARS};

#[test]
fn tcti_resolution_order_and_unreachable_error() {
    for k in TCTI_ENV_VARS {
        std::env::remove_var(k);
    }
    assert_eq!(configured_tcti(), None);
    assert_eq!(resolve_tcti(), DEFAULT_TCTI);
    std::env::set_var("TCTI", "mssim:host=127.0.0.1,port=1");
    assert_eq!(resolve_tcti(), "mssim:host=127.0.0.1,port=1");
    std::env::set_var("TPM2TOOLS_TCTI", "swtpm:host=127.0.0.1,port=2");
    assert_eq!(resolve_tcti(), "swtpm:host=127.0.0.1,port=2");
    std::env::set_var("CUPROOF_TCTI", "swtpm:host=127.0.0.1,port=3");
    assert_eq!(resolve_tcti(), "swtpm:host=127.0.0.1,port=3");
    // Empty values are skipped.
    std::env::set_var("CUPROOF_TCTI", " ");
    assert_eq!(resolve_tcti(), "swtpm:host=127.0.0.1,port=2");
    // Nothing listens on a just-released port: a clear "TPM unreachable" error.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tcti = format!("swtpm:host=127.0.0.1,port={port}");
    std::env::set_var("CUPROOF_TCTI", &tcti);
    let e = Tpm::open_default().unwrap_err();
    assert!(matches!(e, TpmError::Unreachable { .. }), "{e}");
    assert!(
        e.to_string()
            .starts_with(&format!("TPM unreachable: {tcti}: ")),
        "{e}"
    );
    // A device path that does not exist.
    let e = Tpm::open("device:/nonexistent/tpmrm9").unwrap_err();
    assert!(e.is_unreachable(), "{e}");
    for k in TCTI_ENV_VARS {
        std::env::remove_var(k);
    }
    // Embedded default: no TCTI and no device → a private swtpm, reported as software.
    if !std::path::Path::new("/dev/tpmrm0").exists() && !std::path::Path::new("/dev/tpm0").exists()
    {
        assert!(!cuproof_tpm::tpm_available());
        let (mut tpm, sw, kind) = cuproof_tpm::open_or_start_swtpm().expect("private swtpm");
        assert_eq!(kind, cuproof_tpm::TpmKind::Software);
        let sw = sw.expect("a swtpm was started");
        assert_eq!(tpm.tcti(), sw.tcti());
        tpm.extend(23, &[1; 32]).unwrap();
    }
    // A configured swtpm TCTI is used as is (and is software).
    let sw = cuproof_tpm::swtpm::Swtpm::start().expect("swtpm (install swtpm, swtpm-tools)");
    std::env::set_var("CUPROOF_TCTI", sw.tcti());
    let (_tpm, started, kind) = cuproof_tpm::open_or_start_swtpm().unwrap();
    assert!(started.is_none());
    assert_eq!(kind, cuproof_tpm::TpmKind::Software);
    std::env::remove_var("CUPROOF_TCTI");
}
