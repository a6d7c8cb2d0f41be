//! snarkjs zkeys (`cuproof setup --import-zkey`) and cuproof key files: strict parsers that never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(z) = cuproof_circuits::ceremony::parse_zkey(data) {
        assert_eq!(z.pk.a_query.len(), z.n_vars);
        assert_eq!(z.pk.h_query.len(), z.domain_size);
        let _ = cuproof_circuits::ceremony::describe(&z);
    }
    let _ = cuproof_circuits::groth::read_key_header(data);
    let _ = cuproof_circuits::groth::verifying_key_from_file_bytes(data);
});
