//! The node side (feature `node`): answers a challenge on the cuproof runtime and quotes with a TPM.
//!
//! The steps are public so that the protocol's order is visible (and so that tests can build cheating nodes from
//! the same pieces): [`begin`] takes Q1 and derives the work seed; [`Node::compute`] fills A and Bᵀ from the seed
//! on the device and runs the int8 GEMMs, committing each `C_t` where it lives; [`commit`] takes Q2 over the
//! result and returns the commit message and the session that answers the sample request.
//!
//! Only the work between Q1 and Q2 is timed; building the Merkle trees for the openings happens after Q2.
//!
//! A node may have several runtimes, one per card ([`Node::with_runtimes`]): the iterations are split into
//! contiguous shares, one per runtime, and each share runs on its own thread (a claim for several cards must be
//! met by the cards side by side, `docs/capacity.md`, *Several cards*).
//!
//! The work stays on the device: one buffer each for Bᵀ, `A_t` and `C_t`, refilled and recomputed in place per
//! iteration; each `C_t`'s leaf digests (32 bytes per row) stay on the device until after Q2. A class workload's results do not
//! fit in host memory (the H100 SXM class: 225 × 512 MiB = 112 GiB) and copying them would cost more PCIe time than
//! the GEMMs take; an opened row is recomputed on the CPU from the seed after the sample request (as the verifier
//! does) and must hash to its committed leaf before it is sent.

use crate::class::MAX_CARDS;
use crate::error::CapacityError;
use crate::wire::{
    CardIdentity, Challenge, CommitMessage, OpeningsMessage, QuoteEvidence, SampleRequest,
};
use crate::workload::{b_transposed, expected_rows};
use crate::workload::{
    card_nonce, iteration_seed, q1_qualifying_data, q2_qualifying_data, result_digest, work_seed,
    Workload,
};
use crate::Quoter;
use cuproof::gpu_attest::{GpuAttestError, GpuAttester};
use cuproof::runtime::{BufferId, Runtime};
use cuproof_attest::gpu::GpuEvidence;
use cuproof_core::commitment::{leaves, CommitParams, Commitment, MerkleTree};
use cuproof_core::error::CommitError;
use cuproof_core::fill::{STREAM_A, STREAM_B};
use std::sync::{Arc, OnceLock};
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

/// Where the bytes of an opened row of `C_t` come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowSource {
    /// Recomputed on the CPU from the work seed when the row is opened (what [`Node::compute`] does: it keeps no
    /// `C_t`).
    Recompute,
    /// `C_t` held in host memory (`m×n` int32 little-endian): a result computed some other way, e.g. by a test's
    /// cheating node.
    Kept(Vec<u8>),
}

/// Where an iteration's leaf digests are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeafDigests {
    /// In host memory.
    Host(Vec<[u8; 32]>),
    /// Still in a buffer of one of the node's runtimes (32 bytes per chunk, on the GPU for a CUDA runtime):
    /// fetched by [`Node::commit`] after Q2, so that no copy runs in the timed window.
    Backend {
        /// Index of the runtime (card) holding it.
        card: usize,
        /// The buffer.
        buffer: BufferId,
    },
}

/// The result of one iteration: the commitment of `C_t` the runtime computed where `C_t` lives, its leaf digests
/// (one per row) and where opened rows come from.
#[derive(Clone, Debug)]
pub struct IterationOutput {
    /// The commitment of `C_t` (one chunk per row).
    pub commitment: Commitment,
    /// The leaf digests `H(0x00 ‖ row)`, as the runtime computed them.
    pub leaves: LeafDigests,
    /// Where opened rows come from.
    pub rows: RowSource,
}

impl IterationOutput {
    /// An iteration whose `C_t` the caller holds: leaves and commitment computed on the host.
    pub fn kept(c: Vec<u8>, params: &CommitParams) -> Result<Self, CapacityError> {
        let tree = MerkleTree::from_leaves(params, c.len() as u64, leaves(&c, params))
            .map_err(|e| CapacityError::Node(format!("commitment of C: {e}")))?;
        Ok(IterationOutput {
            commitment: tree.commitment(),
            leaves: LeafDigests::Host(tree.into_leaves()),
            rows: RowSource::Kept(c),
        })
    }
}

/// Step 2a: validate the challenge, take Q1 binding it, derive the work seed. Nothing about the work can be known
/// before this returns: the work seed depends on Q1's signature.
pub fn begin(challenge: &Challenge, quoter: &mut dyn Quoter) -> Result<Started, CapacityError> {
    challenge.validate()?;
    let cd = challenge.digest();
    let ak_public = quoter.ak_public()?;
    let q1 = quoter.quote(&challenge.pcrs, &q1_qualifying_data(&cd))?;
    let ws = work_seed(&cd, &q1.attest, &q1.signature);
    Ok(Started {
        challenge: challenge.clone(),
        challenge_digest: cd,
        ak_public,
        q1,
        work_seed: ws,
    })
}

/// The node: one runtime (CPU or CUDA backend) per card, and what asks the cards for attestation reports.
pub struct Node {
    runtimes: Vec<Runtime>,
    attester: Option<Arc<dyn GpuAttester>>,
    /// Each card's evidence, and the challenge digest it was taken for.
    evidence: Option<([u8; 32], Vec<Option<GpuEvidence>>)>,
    attestation_notes: Vec<String>,
}

impl Node {
    /// A node with one card, on `runtime`.
    pub fn new(runtime: Runtime) -> Self {
        Node {
            runtimes: vec![runtime],
            attester: None,
            evidence: None,
            attestation_notes: Vec::new(),
        }
    }

    /// Ask the cards for attestation reports through `attester` ([`Node::begin`] does, before Q1).
    pub fn with_gpu_attester(mut self, attester: Arc<dyn GpuAttester>) -> Self {
        self.attester = Some(attester);
        self
    }

    /// Step 2a on this node: validate the challenge, ask each card for its attestation report over
    /// [`card_nonce`] (when the node has an attester; outside the timed window, which starts at Q1), then
    /// [`begin`]. A card that gives no report (unavailable, or its driver failed) is named without evidence and
    /// the reason kept in [`Node::gpu_attestation_notes`]: whether a claim without it passes is the verifier's
    /// policy (`GpuAttestationPolicy::required`), so the node does not withhold the claim.
    pub fn begin(
        &mut self,
        challenge: &Challenge,
        quoter: &mut dyn Quoter,
    ) -> Result<Started, CapacityError> {
        challenge.validate()?;
        self.attest_cards(&challenge.digest());
        begin(challenge, quoter)
    }

    fn attest_cards(&mut self, challenge_digest: &[u8; 32]) {
        self.attestation_notes.clear();
        self.evidence = None;
        let Some(attester) = self.attester.clone() else {
            return;
        };
        let mut all = Vec::with_capacity(self.runtimes.len());
        for (i, card) in self.cards().iter().enumerate() {
            let nonce = card_nonce(challenge_digest, i as u32);
            match attester.attest(i, &card.uuid, &nonce) {
                Ok(e) => all.push(Some(e)),
                Err(e) => {
                    // no evidence is the policy's to judge, not a reason to withhold the claim
                    let why = match e {
                        GpuAttestError::Unavailable(why) => why,
                        GpuAttestError::Failed(why) => {
                            format!("{} failed: {why}", attester.describe())
                        }
                    };
                    self.attestation_notes.push(format!("card {i}: {why}"));
                    all.push(None);
                }
            }
        }
        self.evidence = Some((*challenge_digest, all));
    }

    /// Why cards gave no attestation report in the last [`Node::begin`] (one line per card).
    pub fn gpu_attestation_notes(&self) -> &[String] {
        &self.attestation_notes
    }

    /// A node with one runtime per card (e.g. `Runtime::cuda(0)`, `Runtime::cuda(1)`, …); 1..=[`MAX_CARDS`].
    pub fn with_runtimes(runtimes: Vec<Runtime>) -> Result<Self, CapacityError> {
        if runtimes.is_empty() || runtimes.len() > MAX_CARDS as usize {
            return Err(CapacityError::Node(format!(
                "a node has 1..={MAX_CARDS} runtimes, not {}",
                runtimes.len()
            )));
        }
        Ok(Node {
            runtimes,
            attester: None,
            evidence: None,
            attestation_notes: Vec::new(),
        })
    }

    /// The first card's runtime (its log records every fill, GEMM and commitment launch of its share).
    pub fn runtime(&self) -> &Runtime {
        &self.runtimes[0]
    }

    /// Every card's runtime, in card order.
    pub fn runtimes(&self) -> &[Runtime] {
        &self.runtimes
    }

    /// The runtimes, consumed.
    pub fn into_runtimes(self) -> Vec<Runtime> {
        self.runtimes
    }

    /// The card each runtime works on, as the commit message names it: a CUDA runtime's device name and UUID, a CPU
    /// runtime's `cpu: <model>` and a zero UUID (without evidence; [`Node::commit`] adds what [`Node::begin`] took).
    pub fn cards(&self) -> Vec<CardIdentity> {
        self.runtimes
            .iter()
            .map(|rt| {
                let inv = rt.inventory();
                match inv.gpus.first() {
                    Some(g) => CardIdentity {
                        name: g.name.clone(),
                        uuid: g.uuid,
                        evidence: None,
                    },
                    None => CardIdentity {
                        name: format!("cpu: {}", inv.cpu),
                        uuid: [0; 16],
                        evidence: None,
                    },
                }
            })
            .map(|mut c| {
                // within the message's limit, cut at a character boundary
                let mut end = c.name.len().min(crate::wire::MAX_CARD_NAME);
                while !c.name.is_char_boundary(end) {
                    end -= 1;
                }
                c.name.truncate(end);
                c
            })
            .collect()
    }

    /// The iterations of card `card` of `cards` for a workload of `iterations`: a contiguous share, the first
    /// `iterations mod cards` cards taking one more.
    pub fn share(iterations: u32, cards: usize, card: usize) -> std::ops::Range<u32> {
        let (n, g) = (cards.max(1) as u64, card as u64);
        let t = iterations as u64;
        let start = |g: u64| (g * (t / n) + g.min(t % n)).min(t) as u32;
        start(g)..start(g + 1)
    }

    /// Step 2b: on each card, fill Bᵀ once and, per iteration of its share ([`Node::share`]), `A_t` from the
    /// seed, `C_t = A_t·B` and its commitment, all in three backend buffers reused across iterations. With several
    /// runtimes each card works on its own thread. Each commitment's leaf digests stay in a backend buffer
    /// ([`LeafDigests::Backend`]) until [`Node::commit`] fetches them after Q2: nothing but the 32-byte roots
    /// crosses PCIe in the timed window.
    pub fn compute(&mut self, started: &Started) -> Result<Vec<IterationOutput>, CapacityError> {
        let w = started.challenge.workload;
        let params = w.commit_params()?;
        let dims = (w.m as usize, w.n as usize, w.k as usize);
        let cards = self.runtimes.len();
        let shares: Vec<Result<Vec<IterationOutput>, CapacityError>> = if cards == 1 {
            vec![card_share(
                &mut self.runtimes[0],
                0,
                started,
                &params,
                dims,
                0..w.iterations,
            )]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = self
                    .runtimes
                    .iter_mut()
                    .enumerate()
                    .map(|(card, rt)| {
                        let range = Node::share(w.iterations, cards, card);
                        let params = &params;
                        scope.spawn(move || card_share(rt, card, started, params, dims, range))
                    })
                    .collect();
                handles
                    .into_iter()
                    .enumerate()
                    .map(|(card, h)| {
                        h.join().unwrap_or_else(|_| {
                            Err(CapacityError::Node(format!(
                                "card {card}: its thread panicked"
                            )))
                        })
                    })
                    .collect()
            })
        };
        let mut out = Vec::with_capacity(w.iterations as usize);
        let mut first_err = None;
        for share in shares {
            match share {
                Ok(v) => out.extend(v),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            None => Ok(out),
            Some(e) => {
                // the digests the other cards kept are of no use now
                self.release(&out);
                Err(e)
            }
        }
    }

    /// Step 2c for the outputs of [`Node::compute`]: takes Q2 (as [`commit`]), then fetches the leaf digests from
    /// the runtime and builds the trees for the openings. `quoter` must be the one that took Q1.
    pub fn commit(
        &mut self,
        started: &Started,
        outputs: Vec<IterationOutput>,
        quoter: &mut dyn Quoter,
    ) -> Result<(CommitMessage, NodeSession), CapacityError> {
        let mut cards = self.cards();
        if let Some((digest, evidence)) = &self.evidence {
            if *digest == started.challenge_digest {
                for (c, e) in cards.iter_mut().zip(evidence) {
                    c.evidence = e.clone();
                }
            }
        }
        let msg = match quote_result(started, &outputs, cards, quoter) {
            Ok(msg) => msg,
            Err(e) => {
                self.release(&outputs);
                return Err(e);
            }
        };
        let outputs = self.fetch_leaves(outputs)?;
        let session = session(started, &msg, outputs)?;
        Ok((msg, session))
    }

    /// The outputs with every [`LeafDigests::Backend`] brought to the host (its buffer freed).
    fn fetch_leaves(
        &mut self,
        outputs: Vec<IterationOutput>,
    ) -> Result<Vec<IterationOutput>, CapacityError> {
        let mut out = Vec::with_capacity(outputs.len());
        let mut rest = outputs.into_iter();
        for o in rest.by_ref() {
            let leaves = match o.leaves {
                LeafDigests::Backend { card, buffer } => {
                    let fetched = match self.runtimes.get_mut(card) {
                        Some(rt) => {
                            let bytes = rt.buf_download(buffer);
                            let _ = rt.buf_free(buffer);
                            bytes
                                .and_then(|v| cuproof::runtime::digests(&v))
                                .map_err(|e| format!("leaf digests on card {card}: {e}"))
                        }
                        None => Err(format!("leaf digests on card {card}: no such runtime")),
                    };
                    match fetched {
                        Ok(d) => LeafDigests::Host(d),
                        Err(e) => {
                            let left: Vec<IterationOutput> = rest.collect();
                            self.release(&left);
                            return Err(CapacityError::Node(e));
                        }
                    }
                }
                host => host,
            };
            out.push(IterationOutput { leaves, ..o });
        }
        Ok(out)
    }

    /// Frees the runtime buffers that outputs still hold.
    fn release(&mut self, outputs: &[IterationOutput]) {
        for o in outputs {
            if let LeafDigests::Backend { card, buffer } = o.leaves {
                if let Some(rt) = self.runtimes.get_mut(card) {
                    let _ = rt.buf_free(buffer);
                }
            }
        }
    }
}

/// One card's share of the iterations on `rt`: Bᵀ filled once, then per iteration `A_t`, `C_t` and its
/// commitment in three buffers reused across iterations (freed at the end whether or not the work succeeded).
fn card_share(
    rt: &mut Runtime,
    card: usize,
    started: &Started,
    params: &CommitParams,
    dims: (usize, usize, usize),
    range: std::ops::Range<u32>,
) -> Result<Vec<IterationOutput>, CapacityError> {
    if range.is_empty() {
        return Ok(Vec::new());
    }
    let mut held: Vec<BufferId> = Vec::with_capacity(3);
    let out = share_iterations(rt, card, started, params, dims, range, &mut held);
    for b in held {
        let _ = rt.buf_free(b);
    }
    out
}

fn share_iterations(
    rt: &mut Runtime,
    card: usize,
    started: &Started,
    params: &CommitParams,
    (m, n, k): (usize, usize, usize),
    range: std::ops::Range<u32>,
    held: &mut Vec<BufferId>,
) -> Result<Vec<IterationOutput>, CapacityError> {
    let node = |e: cuproof::RuntimeError| CapacityError::Node(format!("card {card}: {e}"));
    let elems = |x: usize, y: usize, z: usize| {
        x.checked_mul(y)
            .and_then(|v| v.checked_mul(z))
            .ok_or_else(|| CapacityError::Workload("buffer size overflows".into()))
    };
    let bt = rt
        .buf_fill(&started.work_seed, STREAM_B, elems(n, k, 1)?)
        .map_err(node)?;
    held.push(bt);
    let a = rt.buf_alloc(elems(m, k, 1)?).map_err(node)?;
    held.push(a);
    let c = rt.buf_alloc(elems(m, n, 4)?).map_err(node)?;
    held.push(c);
    let mut out = Vec::with_capacity(range.len());
    for t in range {
        let step = (|| {
            rt.buf_fill_into(a, &iteration_seed(&started.work_seed, t), STREAM_A)?;
            rt.buf_gemm_i8_into(a, bt, c, m, n, k)?;
            rt.buf_commit_keep_leaves(c, params)
        })();
        match step {
            Ok((commitment, kept)) => out.push(IterationOutput {
                commitment,
                leaves: LeafDigests::Backend { card, buffer: kept },
                rows: RowSource::Recompute,
            }),
            Err(e) => {
                // the digests kept so far are of no use now
                held.extend(out.iter().filter_map(|o| match o.leaves {
                    LeafDigests::Backend { buffer, .. } => Some(buffer),
                    LeafDigests::Host(_) => None,
                }));
                return Err(node(e));
            }
        }
    }
    Ok(out)
}

/// The trees of the iterations from their leaf digests, each checked against the commitment the runtime made
/// (`committed`: the runtime's own, or those of the commit message being resumed).
fn trees(
    w: &Workload,
    outputs: Vec<IterationOutput>,
    committed: &[Commitment],
    what: &str,
) -> Result<Vec<IterationTree>, CapacityError> {
    let params = w.commit_params()?;
    if outputs.len() != committed.len() {
        return Err(CapacityError::Node(format!(
            "{} iteration outputs for {} commitments",
            outputs.len(),
            committed.len()
        )));
    }
    outputs
        .into_iter()
        .zip(committed)
        .enumerate()
        .map(|(t, (o, c))| {
            let LeafDigests::Host(leaves) = o.leaves else {
                return Err(CapacityError::Node(format!(
                    "iteration {t}: the leaf digests are still on the runtime (Node::commit fetches them)"
                )));
            };
            let tree = MerkleTree::from_leaves(&params, w.iteration_bytes(), leaves)
                .map_err(|e| CapacityError::Node(format!("iteration {t}: {e}")))?;
            if !tree.commitment().ct_eq(c) {
                return Err(CapacityError::Node(format!("iteration {t}: {what}")));
            }
            Ok(IterationTree { tree, rows: o.rows })
        })
        .collect()
}

/// Step 2c: take Q2 over the result (binding the challenge, the commitments and Q1), then build the trees for the
/// openings. `quoter` must be the one that took Q1 (a different AK is rejected by the verifier). For outputs whose
/// leaf digests are on the host (e.g. [`IterationOutput::kept`]), computed some other way: the message names no
/// cards. Those of [`Node::compute`] go through [`Node::commit`], which names the node's cards.
pub fn commit(
    started: &Started,
    outputs: Vec<IterationOutput>,
    quoter: &mut dyn Quoter,
) -> Result<(CommitMessage, NodeSession), CapacityError> {
    if outputs
        .iter()
        .any(|o| matches!(o.leaves, LeafDigests::Backend { .. }))
    {
        return Err(CapacityError::Node(
            "the leaf digests are still on the node's runtime: take Q2 with Node::commit".into(),
        ));
    }
    let msg = quote_result(started, &outputs, Vec::new(), quoter)?;
    let session = session(started, &msg, outputs)?;
    Ok((msg, session))
}

/// Q2 over the outputs' commitments, and the commit message.
fn quote_result(
    started: &Started,
    outputs: &[IterationOutput],
    cards: Vec<CardIdentity>,
    quoter: &mut dyn Quoter,
) -> Result<CommitMessage, CapacityError> {
    let w = started.challenge.workload;
    if outputs.len() != w.iterations as usize {
        return Err(CapacityError::Node(format!(
            "{} iteration outputs for {} iterations",
            outputs.len(),
            w.iterations
        )));
    }
    let commitments: Vec<Commitment> = outputs.iter().map(|o| o.commitment).collect();
    let rd = result_digest(&w, &commitments, &cards);
    let q2 = quoter.quote(
        &started.challenge.pcrs,
        &q2_qualifying_data(&started.challenge_digest, &rd, &started.q1.digest()),
    )?;
    // After the clock stopped: the logs that explain Q2's PCRs.
    let logs = quoter.measurement_logs(&q2)?;
    Ok(CommitMessage {
        challenge_digest: started.challenge_digest,
        ak_public: started.ak_public.clone(),
        q1: started.q1.clone(),
        q2,
        commitments,
        cards,
        logs,
    })
}

/// The session answering the sample request for `msg`, from outputs with their leaf digests on the host.
fn session(
    started: &Started,
    msg: &CommitMessage,
    outputs: Vec<IterationOutput>,
) -> Result<NodeSession, CapacityError> {
    let w = started.challenge.workload;
    let iterations = trees(
        &w,
        outputs,
        &msg.commitments,
        "the runtime's commitment differs from the tree of its leaves",
    )?;
    Ok(NodeSession {
        workload: w,
        commit_digest: msg.digest(),
        work_seed: started.work_seed,
        bt: OnceLock::new(),
        iterations,
    })
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
    let outputs = node.fetch_leaves(outputs)?;
    let w = challenge.workload;
    let iterations = trees(
        &w,
        outputs,
        &commit.commitments,
        "recomputed result differs from the committed one",
    )?;
    Ok(NodeSession {
        workload: w,
        commit_digest: commit.digest(),
        work_seed: started.work_seed,
        bt: OnceLock::new(),
        iterations,
    })
}

/// One iteration's tree and the source of its rows.
struct IterationTree {
    tree: MerkleTree,
    rows: RowSource,
}

/// Everything a node needs to answer the sample request.
pub struct NodeSession {
    workload: Workload,
    commit_digest: [u8; 32],
    work_seed: [u8; 32],
    /// Bᵀ on the host, made at the first opened row that is recomputed.
    bt: OnceLock<Vec<i8>>,
    iterations: Vec<IterationTree>,
}

impl NodeSession {
    /// Step 4: the openings of the requested rows. Refuses a request made for another commitment. A recomputed row
    /// must hash to its committed leaf (else the device's result was not the CPU twin's, and nothing is sent).
    pub fn open(&self, request: &SampleRequest) -> Result<OpeningsMessage, CapacityError> {
        if !bool::from(request.commit_digest.ct_eq(&self.commit_digest)) {
            return Err(CapacityError::Protocol(
                "the sample request names another commitment".into(),
            ));
        }
        let w = &self.workload;
        request.check_rows(w.total_rows())?;
        let m = w.m as u64;
        let rb = w.row_bytes();
        let iteration = |row: u64| {
            self.iterations
                .get((row / m) as usize)
                .ok_or_else(|| CapacityError::SampleRequest(format!("row {row} out of range")))
        };
        // the rows to recompute, all in one pass over Bᵀ
        let mut recompute = Vec::new();
        for &row in &request.rows {
            if iteration(row)?.rows == RowSource::Recompute {
                recompute.push(row);
            }
        }
        let mut recomputed = if recompute.is_empty() {
            Vec::new()
        } else {
            let bt = self.bt.get_or_init(|| b_transposed(&self.work_seed, w));
            expected_rows(&self.work_seed, w, bt, &recompute)?
        }
        .into_iter();
        let mut openings = Vec::with_capacity(request.rows.len());
        for &row in &request.rows {
            let it = iteration(row)?;
            let i = row % m;
            let bytes = match &it.rows {
                RowSource::Kept(c) => c
                    .get(i as usize * rb..(i as usize + 1) * rb)
                    .ok_or_else(|| {
                        CapacityError::Node(format!("row {row}: the kept C is too short"))
                    })?
                    .to_vec(),
                RowSource::Recompute => recomputed
                    .next()
                    .ok_or_else(|| CapacityError::Node(format!("row {row} was not recomputed")))?,
            };
            openings.push(it.tree.open_chunk(i, bytes).map_err(|e| match e {
                CommitError::Mismatch => CapacityError::Node(format!(
                    "row {row} does not hash to its committed leaf: the committed C_{} is not A·B",
                    row / m
                )),
                e => CapacityError::Node(format!("opening row {row}: {e}")),
            })?);
        }
        Ok(OpeningsMessage {
            request_digest: request.digest(),
            openings,
        })
    }
}

/// Steps 2a–2c in one call: an honest node (its cards attested first where it has an attester).
pub fn respond(
    node: &mut Node,
    challenge: &Challenge,
    quoter: &mut dyn Quoter,
) -> Result<(CommitMessage, NodeSession), CapacityError> {
    let started = node.begin(challenge, quoter)?;
    let outputs = node.compute(&started)?;
    node.commit(&started, outputs, quoter)
}

#[cfg(test)]
mod tests {
    use super::Node;

    #[test]
    fn shares_cover_the_iterations_once_in_order() {
        for t in [1u32, 2, 3, 7, 8, 225, 1800] {
            for cards in 1..=9usize {
                let shares: Vec<_> = (0..cards).map(|g| Node::share(t, cards, g)).collect();
                assert_eq!(shares[0].start, 0);
                assert_eq!(shares[cards - 1].end, t);
                for p in shares.windows(2) {
                    assert_eq!(p[0].end, p[1].start);
                }
                // as even as it gets: every share has ⌊t/cards⌋ or ⌈t/cards⌉ iterations
                let (lo, hi) = (t / cards as u32, t.div_ceil(cards as u32));
                for s in &shares {
                    assert!((lo..=hi).contains(&(s.len() as u32)), "{t} over {cards}");
                }
            }
        }
        assert_eq!(Node::share(10, 4, 0), 0..3);
        assert_eq!(Node::share(10, 4, 1), 3..6);
        assert_eq!(Node::share(10, 4, 2), 6..8);
        assert_eq!(Node::share(10, 4, 3), 8..10);
        // more cards than iterations: the last cards get nothing
        assert_eq!(Node::share(2, 3, 2), 2..2);
    }

    #[test]
    fn a_node_needs_a_runtime() {
        assert!(Node::with_runtimes(Vec::new()).is_err());
        let rts = vec![
            cuproof::runtime::Runtime::cpu(),
            cuproof::runtime::Runtime::cpu(),
        ];
        assert_eq!(Node::with_runtimes(rts).unwrap().runtimes().len(), 2);
        // the commit message names at most MAX_CARDS cards
        let too_many = (0..=super::MAX_CARDS)
            .map(|_| cuproof::runtime::Runtime::cpu())
            .collect();
        assert!(Node::with_runtimes(too_many).is_err());
    }
}
