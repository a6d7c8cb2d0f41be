//! Interop with tpm2-tools on a private swtpm: tpm2_checkquote accepts our quotes, and
//! cuproof-attest accepts quotes made by tpm2_quote.

mod common;

use cuproof_attest::{verify_quote, HashAlg, PublicArea, QuoteExpectations};
use cuproof_tpm::{export, AkType, EkType, Tpm};
use std::path::Path;
use std::process::Command;

fn tool(dir: &Path, tcti: Option<&str>, args: &[&str]) -> std::process::Output {
    let name = args[0];
    common::require_tool(name);
    let mut c = Command::new(name);
    c.args(&args[1..]).current_dir(dir);
    if let Some(t) = tcti {
        c.env("TPM2TOOLS_TCTI", t);
    }
    c.output().unwrap_or_else(|e| panic!("run {name}: {e}"))
}

fn ok(o: &std::process::Output, what: &str) {
    assert!(
        o.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn tpm2_checkquote_accepts_our_quote() {
    common::require_tool("tpm2_checkquote");
    for ak_type in [AkType::Rsa2048Sha256, AkType::EccP256Sha256] {
        let (_sw, mut tpm) = common::start();
        let ek = tpm.endorsement_key(EkType::Rsa2048).unwrap();
        let blob = tpm.create_ak(&ek, ak_type).unwrap();
        let ak = tpm.load_ak(&ek, &blob).unwrap();
        tpm.extend(23, &[0x5a; 32]).unwrap();
        let nonce = [0xc3u8; 32];
        let quote = tpm
            .quote(&ak, HashAlg::Sha256, &[0, 7, 16, 23], &nonce)
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let files = export::write_tpm2_quote_files(dir.path(), &quote, &ak.public).unwrap();
        let hexnonce = hex::encode(nonce);
        for key in [&files.ak_public, &files.ak_pem] {
            let o = tool(
                dir.path(),
                None,
                &[
                    "tpm2_checkquote",
                    "-u",
                    key.to_str().unwrap(),
                    "-m",
                    "quote.msg",
                    "-s",
                    "quote.sig",
                    "-f",
                    "quote.pcrs",
                    "-g",
                    "sha256",
                    "-q",
                    &hexnonce,
                ],
            );
            ok(&o, "tpm2_checkquote on our quote");
        }
        // Tampered message: rejected.
        let mut msg = quote.attest.clone();
        let n = msg.len();
        msg[n - 1] ^= 1;
        std::fs::write(&files.message, &msg).unwrap();
        let o = tool(
            dir.path(),
            None,
            &[
                "tpm2_checkquote",
                "-u",
                "ak.pub",
                "-m",
                "quote.msg",
                "-s",
                "quote.sig",
                "-f",
                "quote.pcrs",
                "-g",
                "sha256",
                "-q",
                &hexnonce,
            ],
        );
        assert!(
            !o.status.success(),
            "tpm2_checkquote must reject a tampered message"
        );
        // Wrong nonce: rejected.
        std::fs::write(&files.message, &quote.attest).unwrap();
        let o = tool(
            dir.path(),
            None,
            &[
                "tpm2_checkquote",
                "-u",
                "ak.pub",
                "-m",
                "quote.msg",
                "-s",
                "quote.sig",
                "-f",
                "quote.pcrs",
                "-g",
                "sha256",
                "-q",
                "00",
            ],
        );
        assert!(
            !o.status.success(),
            "tpm2_checkquote must reject another nonce"
        );
        // Our own parser reads the PCR file back identically.
        let (sel, vals) =
            cuproof_attest::tpm2tools::parse_pcr_file(&std::fs::read(&files.pcrs).unwrap())
                .unwrap();
        assert_eq!(sel.as_set(), quote.selection.as_set());
        assert_eq!(vals, quote.pcrs);
    }
}

#[test]
fn cuproof_attest_verifies_tpm2_quote() {
    common::require_tool("tpm2_quote");
    let (sw, mut tpm) = common::start();
    // Put something in the job PCR with our stack, then hand the TPM to tpm2-tools
    // (swtpm serves one connection at a time).
    tpm.extend(23, &[0x11; 32]).unwrap();
    drop(tpm);
    let dir = tempfile::tempdir().unwrap();
    let t = sw.tcti();
    let tcti = Some(t.as_str());
    ok(
        &tool(
            dir.path(),
            tcti,
            &["tpm2_createek", "-c", "ek.ctx", "-G", "rsa", "-u", "ek.pub"],
        ),
        "tpm2_createek",
    );
    ok(
        &tool(
            dir.path(),
            tcti,
            &[
                "tpm2_createak",
                "-C",
                "ek.ctx",
                "-c",
                "ak.ctx",
                "-G",
                "rsa",
                "-g",
                "sha256",
                "-s",
                "rsassa",
                "-u",
                "ak.pub",
                "-n",
                "ak.name",
            ],
        ),
        "tpm2_createak",
    );
    ok(
        &tool(dir.path(), tcti, &["tpm2_flushcontext", "-t"]),
        "tpm2_flushcontext",
    );
    let nonce = "0123456789abcdef0123456789abcdef";
    ok(
        &tool(
            dir.path(),
            tcti,
            &[
                "tpm2_quote",
                "-c",
                "ak.ctx",
                "-l",
                "sha256:0,1,2,23",
                "-q",
                nonce,
                "-m",
                "msg",
                "-s",
                "sig",
                "-o",
                "pcrs",
                "-g",
                "sha256",
            ],
        ),
        "tpm2_quote",
    );
    let rd = |f: &str| std::fs::read(dir.path().join(f)).unwrap();
    let ak = PublicArea::from_tpm2b(&rd("ak.pub")).unwrap();
    assert_eq!(
        ak.name(),
        rd("ak.name"),
        "our name computation equals tpm2-tools'"
    );
    let (_, pcrs) = cuproof_attest::tpm2tools::parse_pcr_file(&rd("pcrs")).unwrap();
    let nonce_bytes = hex::decode(nonce).unwrap();
    let required: Vec<(HashAlg, u8)> = [0u8, 1, 2, 23]
        .iter()
        .map(|&p| (HashAlg::Sha256, p))
        .collect();
    let ek = PublicArea::from_tpm2b(&rd("ek.pub")).unwrap();
    let qn = ak.qualified_name_under_ek(&ek);
    let v = verify_quote(
        &ak,
        &rd("msg"),
        &rd("sig"),
        &pcrs,
        &QuoteExpectations {
            qualifying_data: &nonce_bytes,
            required_pcrs: &required,
            qualified_signer: Some(&qn),
            signature_policy: Default::default(),
        },
    )
    .expect("cuproof-attest verifies a tpm2_quote quote");
    assert_eq!(
        v.pcr(HashAlg::Sha256, 23).unwrap(),
        cuproof_attest::pcr::replay(HashAlg::Sha256, &[&[0x11; 32]]).as_slice()
    );
    // And our stack can reopen the TPM afterwards.
    let mut tpm = Tpm::open(&sw.tcti()).unwrap();
    assert_eq!(
        tpm.read_pcrs(HashAlg::Sha256, &[23]).unwrap()[0].value,
        v.pcr(HashAlg::Sha256, 23).unwrap()
    );
}
