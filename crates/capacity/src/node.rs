//! The node side (feature `node`): answers a challenge on the cuproof runtime and quotes with a TPM.
//!
//! The steps are public so that the protocol's order is visible (and so that tests can build cheating nodes from
//! the same pieces): [`begin`] takes Q1 and derives the work seed; [`Node::compute`] fills A and Bᵀ from the seed
//! on the device and runs the int8 GEMMs, committing each `C_t` where it lives; [`commit`] takes Q2 over the
//! result and returns the commit message and the session that answers the sample request.
//!
//! Only the work between Q1 and Q2 is timed; building the Merkle trees for the openings happens after Q2.

use crate::error::CapacityError;
use crate::wire::{Challenge, CommitMessage, OpeningsMessage, QuoteEvidence, SampleRequest};
use crate::workload::{
    iteration_seed, q1_qualifying_data, q2_qualifying_data, result_digest, work_seed, Workload,
};
use crate::Quoter;
use cuproof::runtime::Runtime;
use cuproof_core::commitment::{Commitment, MerkleTree};
use cuproof_core::fill::{STREAM_A, STREAM_B};
use subtle::ConstantTimeEq;

/// A challenge accepted and Q1 taken.
#[derive(Clone, Debug)]
pub struct Started {
    /// The challenge.
    pub challenge: Challenge,
    /// Its digest.
    pub challenge_digest: [u8; 32],
    /// The AK's TPMT_PUBLIC (of the quoter that took Q1).
    pub ak_public: Vec<u8>,
    /// Q1.
    pub q1: QuoteEvidence,
    /// The work seed derived from the challenge and Q1.
    pub work_seed: [u8; 32],
}

/// The result of one iteration: `C_t`'s bytes and the commitment the runtime computed where `C_t` lives.
#[derive(Clone, Debug)]
pub struct IterationOutput {
    /// `C_t`, `m×n` int32 little-endian.
    pub c: Vec<u8>,
    /// Its commitment (one chunk per row).
    pub commitment: Commitment,
}

/// Step 2a: validate the challenge, take Q1 binding it, derive the work seed. Nothing about the work can be known
/// before this returns: the work seed depends on Q1's signature.
pub fn begin(challenge: &Challenge, quoter: &mut dyn Quoter) -> Result<Started, CapacityError> {
    challenge.validate()?;
    let cd = challenge.digest();
    let ak_public = quoter.ak_public()?;
    let q1 = quoter.quote(&q1_qualifying_data(&cd))?;
    let ws = work_seed(&cd, &q1.attest, &q1.signature);
    Ok(Started {
        challenge: challenge.clone(),
        challenge_digest: cd,
        ak_public,
        q1,
        work_seed: ws,
    })
}

/// The node: a runtime (CPU or CUDA backend).
pub struct Node {
    runtime: Runtime,
}

impl Node {
    /// A node on `runtime`.
    pub fn new(runtime: Runtime) -> Self {
        Node { runtime }
    }

    /// The runtime (its log records every fill, GEMM and commitment launch of the challenge).
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The runtime, consumed.
    pub fn into_runtime(self) -> Runtime {
        self.runtime
    }

    /// Step 2b: fill Bᵀ once and, per iteration, `A_t` from the seed, `C_t = A_t·B` and its commitment.
    pub fn compute(&mut self, started: &Started) -> Result<Vec<IterationOutput>, CapacityError> {
        let w = started.challenge.workload;
        let params = w.commit_params()?;
        let node = |e: cuproof::RuntimeError| CapacityError::Node(e.to_string());
        let (m, n, k) = (w.m as usize, w.n as usize, w.k as usize);
        let bt: Vec<i8> = self
            .runtime
            .fill(&started.work_seed, STREAM_B, n * k)
            .map_err(node)?
            .into_iter()
            .map(|b| b as i8)
            .collect();
        let mut out = Vec::with_capacity(w.iterations as usize);
        for t in 0..w.iterations {
            let a: Vec<i8> = self
                .runtime
                .fill(&iteration_seed(&started.work_seed, t), STREAM_A, m * k)
                .map_err(node)?
                .into_iter()
                .map(|b| b as i8)
                .collect();
            let g = self
                .runtime
                .gemm_i8(&a, &bt, m, n, k, &params)
                .map_err(node)?;
            let c = cuproof::runtime::i32_bytes(&g.c);
            out.push(IterationOutput {
                c,
                commitment: g.commitment,
            });
        }
        Ok(out)
    }
}

/// Step 2c: take Q2 over the result (binding the challenge, the commitments and Q1), then build the trees for the
/// openings. `quoter` must be the one that took Q1 (a different AK is rejected by the verifier).
pub fn commit(
    started: &Started,
    outputs: Vec<IterationOutput>,
    quoter: &mut dyn Quoter,
) -> Result<(CommitMessage, NodeSession), CapacityError> {
    let w = started.challenge.workload;
    if outputs.len() != w.iterations as usize {
        return Err(CapacityError::Node(format!(
            "{} iteration outputs for {} iterations",
            outputs.len(),
            w.iterations
        )));
    }
    let commitments: Vec<Commitment> = outputs.iter().map(|o| o.commitment).collect();
    let rd = result_digest(&w, &commitments);
    let q2 = quoter.quote(&q2_qualifying_data(
        &started.challenge_digest,
        &rd,
        &started.q1.digest(),
    ))?;
    let msg = CommitMessage {
        challenge_digest: started.challenge_digest,
        ak_public: started.ak_public.clone(),
        q1: started.q1.clone(),
        q2,
        commitments,
    };
    let params = w.commit_params()?;
    let mut iterations = Vec::with_capacity(outputs.len());
    for (t, o) in outputs.into_iter().enumerate() {
        let tree = MerkleTree::build(&o.c, &params);
        if tree.commitment() != o.commitment {
            return Err(CapacityError::Node(format!(
                "iteration {t}: the runtime's commitment differs from the host tree"
            )));
        }
        iterations.push((tree, o.c));
    }
    let session = NodeSession {
        workload: w,
        commit_digest: msg.digest(),
        iterations,
    };
    Ok((msg, session))
}

/// Rebuild the node's session for answering a sample request from the challenge and the node's own commit message
/// (for a node that does not keep `C` between the two rounds, e.g. a CLI run in two processes): recomputes the
/// work from the seed that Q1 fixed and checks that it gives the committed values. Takes no quote.
pub fn resume(
    challenge: &Challenge,
    commit: &CommitMessage,
    node: &mut Node,
) -> Result<NodeSession, CapacityError> {
    challenge.validate()?;
    let cd = challenge.digest();
    if !bool::from(cd.ct_eq(&commit.challenge_digest)) {
        return Err(CapacityError::Protocol(
            "the commit message answers another challenge".into(),
        ));
    }
    let started = Started {
        challenge: challenge.clone(),
        challenge_digest: cd,
        ak_public: commit.ak_public.clone(),
        q1: commit.q1.clone(),
        work_seed: work_seed(&cd, &commit.q1.attest, &commit.q1.signature),
    };
    let outputs = node.compute(&started)?;
    let w = challenge.workload;
    let params = w.commit_params()?;
    if outputs.len() != commit.commitments.len() {
        return Err(CapacityError::Node(
            "iteration count differs from the commit message".into(),
        ));
    }
    let mut iterations = Vec::with_capacity(outputs.len());
    for (t, (o, c)) in outputs.into_iter().zip(&commit.commitments).enumerate() {
        let tree = MerkleTree::build(&o.c, &params);
        if tree.commitment() != *c {
            return Err(CapacityError::Node(format!(
                "iteration {t}: recomputed result differs from the committed one"
            )));
        }
        iterations.push((tree, o.c));
    }
    Ok(NodeSession {
        workload: w,
        commit_digest: commit.digest(),
        iterations,
    })
}

/// Everything a node needs to answer the sample request.
pub struct NodeSession {
    workload: Workload,
    commit_digest: [u8; 32],
    iterations: Vec<(MerkleTree, Vec<u8>)>,
}

impl NodeSession {
    /// Step 4: the openings of the requested rows. Refuses a request made for another commitment.
    pub fn open(&self, request: &SampleRequest) -> Result<OpeningsMessage, CapacityError> {
        if !bool::from(request.commit_digest.ct_eq(&self.commit_digest)) {
            return Err(CapacityError::Protocol(
                "the sample request names another commitment".into(),
            ));
        }
        request.check_rows(self.workload.total_rows())?;
        let m = self.workload.m as u64;
        let mut openings = Vec::with_capacity(request.rows.len());
        for row in &request.rows {
            let (tree, data) = self
                .iterations
                .get((row / m) as usize)
                .ok_or_else(|| CapacityError::SampleRequest(format!("row {row} out of range")))?;
            openings.push(
                tree.open(data, row % m)
                    .map_err(|e| CapacityError::Node(format!("opening row {row}: {e}")))?,
            );
        }
        Ok(OpeningsMessage {
            request_digest: request.digest(),
            openings,
        })
    }
}

/// Steps 2a–2c in one call: an honest node.
pub fn respond(
    node: &mut Node,
    challenge: &Challenge,
    quoter: &mut dyn Quoter,
) -> Result<(CommitMessage, NodeSession), CapacityError> {
    let started = begin(challenge, quoter)?;
    let outputs = node.compute(&started)?;
    commit(&started, outputs, quoter)
}
