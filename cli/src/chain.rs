//! On-chain and snarkjs exports of a receipt's proof.

use crate::error::{write_file, CliError, CliResult};
use cuproof_core::log::BufferRole;
use cuproof_core::receipt::ProofEntry;
use cuproof_core::Receipt;
use cuproof_verify::DetachedProof;
use std::path::{Path, PathBuf};

fn input(e: impl std::fmt::Display) -> CliError {
    CliError::input(e.to_string())
}

/// The verifying key inside a key file (from `cuproof setup`).
pub fn vk_from_file(bytes: &[u8]) -> CliResult<cuproof_circuits::groth::VerifyingKey> {
    cuproof_circuits::groth::verifying_key_from_file_bytes(bytes)
        .map(|(_, vk)| vk)
        .map_err(|e| CliError::input(format!("verifying key: {e}")))
}

/// Write `Groth16Verifier.sol` and `CuproofReceipts.sol` for a verifying key file.
pub fn write_contracts(vk_file: &[u8], out: &Path) -> CliResult<Vec<PathBuf>> {
    let vk = vk_from_file(vk_file)?;
    std::fs::create_dir_all(out)
        .map_err(|e| CliError::input(format!("cannot create {}: {e}", out.display())))?;
    let verifier = cuproof_chain::verifier_contract(&vk).map_err(input)?;
    let receipts = cuproof_chain::receipt_contract();
    let a = out.join("Groth16Verifier.sol");
    let b = out.join("CuproofReceipts.sol");
    write_file(&a, verifier.as_bytes(), "contract")?;
    write_file(&b, receipts.as_bytes(), "contract")?;
    Ok(vec![a, b])
}

/// The proof to export: the detached proof when one is given (it must be for this receipt's statement), else
/// the receipt's first embedded proof.
pub fn select_proof(r: &Receipt, detached: Option<&DetachedProof>) -> CliResult<ProofEntry> {
    match detached {
        Some(d) => {
            let digest = r.statement.digest();
            if !bool::from(subtle::ConstantTimeEq::ct_eq(
                &d.statement_digest[..],
                &digest[..],
            )) {
                return Err(CliError::input(format!(
                    "the proof file is for statement {}, this receipt's statement is {}",
                    hex::encode(d.statement_digest),
                    hex::encode(digest)
                )));
            }
            Ok(d.entry.clone())
        }
        None => r.proofs.first().cloned().ok_or_else(|| {
            CliError::input(
                "the receipt carries no proof (run with --prove, or give --proof FILE from `cuproof prove`)",
            )
        }),
    }
}

/// The on-chain statement of proof `p` for receipt `r` (public input recomputed from the statement).
pub fn chain_statement(r: &Receipt, p: &ProofEntry) -> CliResult<cuproof_chain::Statement> {
    let field = |role, name: &str| -> CliResult<[u8; 32]> {
        r.statement
            .tensor(role, name)
            .and_then(|t| t.field_commitment)
            .ok_or_else(|| {
                CliError::input(format!("the statement has no field commitment of {name}"))
            })
    };
    Ok(cuproof_chain::Statement {
        circuit_id: p.circuit_id,
        job_digest: r.statement.digest(),
        commit_a: field(BufferRole::Input, "A")?,
        commit_b: field(BufferRole::Input, "B")?,
        commit_c: field(BufferRole::Output, "C")?,
    })
}

/// ABI calldata of `verifyProof` (or of the receipt contract's `submit`) for the receipt's embedded proof.
pub fn calldata(r: &Receipt, submit: bool) -> CliResult<Vec<u8>> {
    calldata_for(r, &select_proof(r, None)?, submit)
}

/// ABI calldata of `verifyProof` (or `submit`) for proof `p` of receipt `r` (embedded or detached).
pub fn calldata_for(r: &Receipt, p: &ProofEntry, submit: bool) -> CliResult<Vec<u8>> {
    let proof = cuproof_chain::calldata::load_proof(&p.proof).map_err(input)?;
    let st = chain_statement(r, p)?;
    if submit {
        Ok(cuproof_chain::calldata::encode_submit(&proof, &st))
    } else {
        Ok(cuproof_chain::calldata::encode_verify(
            &proof,
            &st.public_input_fr(),
        ))
    }
}

/// Write snarkjs's verification_key.json, proof.json and public.json for proof `p` of receipt `r`; the public
/// input is recomputed from the receipt's statement, not read from the proof.
pub fn write_snarkjs(
    r: &Receipt,
    p: &ProofEntry,
    vk_file: &[u8],
    out: &Path,
) -> CliResult<Vec<PathBuf>> {
    let vk = vk_from_file(vk_file)?;
    let proof = cuproof_circuits::groth::proof_from_bytes(&p.proof).map_err(input)?;
    let x = cuproof_circuits::commitment_from_bytes(&chain_statement(r, p)?.public_input())
        .map_err(input)?;
    std::fs::create_dir_all(out)
        .map_err(|e| CliError::input(format!("cannot create {}: {e}", out.display())))?;
    let files = [
        (
            "verification_key.json",
            cuproof_circuits::snarkjs::vk_json(&vk),
        ),
        ("proof.json", cuproof_circuits::snarkjs::proof_json(&proof)),
        ("public.json", cuproof_circuits::snarkjs::public_json(&[x])),
    ];
    let mut paths = Vec::new();
    for (name, v) in files {
        let path = out.join(name);
        write_file(
            &path,
            serde_json::to_string_pretty(&v)
                .unwrap_or_default()
                .as_bytes(),
            name,
        )?;
        paths.push(path);
    }
    Ok(paths)
}
