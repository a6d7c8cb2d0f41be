//! Compiling Solidity with the npm `solc` package (soljson, run by node; works offline once installed).
//!
//! Tool discovery:
//! 1. `CUPROOF_SOLC_JS`: path to `solc.js` (the solcjs CLI of the npm package);
//! 2. `CUPROOF_NODE_MODULES/solc/solc.js`;
//! 3. `.tools/node/node_modules/solc/solc.js` in the current directory or any ancestor, then in the ancestors
//!    of this crate's source directory (the workspace root in a checkout).
//!
//! When `CUPROOF_SOLC_JS` or `CUPROOF_NODE_MODULES` is set it must be right: there is no fall-through to
//! another solc. The node binary is `CUPROOF_NODE` if set, else `node` from `PATH`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::error::{ChainError, Result};

/// The npm `solc` version the project pins (install with `npm install --prefix .tools/node solc@<this>`).
pub const SOLC_VERSION: &str = "0.8.30";
/// EVM version the contracts are compiled for.
pub const EVM_VERSION: &str = "cancun";
/// Optimizer runs setting used for compilation.
pub const OPTIMIZER_RUNS: u64 = 10_000;

const SOLC_REL: &str = ".tools/node/node_modules/solc/solc.js";

/// One compiled contract.
#[derive(Clone, Debug)]
pub struct CompiledContract {
    /// Creation (init) bytecode: deploy this, followed by ABI-encoded constructor arguments.
    pub creation: Vec<u8>,
    /// Runtime bytecode as deployed.
    pub runtime: Vec<u8>,
    /// The ABI as JSON text.
    pub abi: String,
    /// Function signature -> 4-byte selector (hex), as reported by solc.
    pub method_identifiers: BTreeMap<String, String>,
}

/// The output of one solc run.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// Contracts by name (`Name`); if two files define the same name, the later file wins.
    pub contracts: BTreeMap<String, CompiledContract>,
    /// Warnings reported by solc (formatted messages).
    pub warnings: Vec<String>,
}

impl Compiled {
    /// The contract called `name`.
    pub fn contract(&self, name: &str) -> Result<&CompiledContract> {
        self.contracts
            .get(name)
            .ok_or_else(|| ChainError::ContractNotFound(name.to_string()))
    }
}

/// A located solc (node binary + solc.js).
#[derive(Clone, Debug)]
pub struct Solc {
    node: PathBuf,
    solc_js: PathBuf,
}

impl Solc {
    /// Locate solc as described in the module documentation.
    pub fn discover() -> Result<Self> {
        let node = std::env::var_os("CUPROOF_NODE")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("node"));
        // An explicitly configured location is authoritative: if it is wrong, say so instead of silently
        // using another solc.
        if let Some(p) = std::env::var_os("CUPROOF_SOLC_JS") {
            let p = PathBuf::from(p);
            if p.is_file() {
                return Ok(Self { node, solc_js: p });
            }
            return Err(ChainError::SolcNotFound {
                tried: format!("CUPROOF_SOLC_JS={} (not a file)", p.display()),
            });
        }
        if let Some(m) = std::env::var_os("CUPROOF_NODE_MODULES") {
            let p = Path::new(&m).join("solc").join("solc.js");
            if p.is_file() {
                return Ok(Self { node, solc_js: p });
            }
            return Err(ChainError::SolcNotFound {
                tried: format!("{} (from CUPROOF_NODE_MODULES)", p.display()),
            });
        }
        let mut roots: Vec<PathBuf> = Vec::new();
        if let Ok(cwd) = std::env::current_dir() {
            roots.extend(cwd.ancestors().map(Path::to_path_buf));
        }
        roots.extend(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .ancestors()
                .map(Path::to_path_buf),
        );
        for root in roots {
            let p = root.join(SOLC_REL);
            if p.is_file() {
                return Ok(Self { node, solc_js: p });
            }
        }
        Err(ChainError::SolcNotFound {
            tried: format!(
                "{SOLC_REL} in the ancestors of the current directory and of {}",
                env!("CARGO_MANIFEST_DIR")
            ),
        })
    }

    /// Use an explicit node binary and solc.js.
    pub fn at(node: impl Into<PathBuf>, solc_js: impl Into<PathBuf>) -> Self {
        Self {
            node: node.into(),
            solc_js: solc_js.into(),
        }
    }

    /// Path of the solc.js being used.
    pub fn solc_js(&self) -> &Path {
        &self.solc_js
    }

    /// Compile `(file name, source)` pairs with the standard-JSON interface.
    pub fn compile(&self, sources: &[(&str, &str)]) -> Result<Compiled> {
        let mut srcs = serde_json::Map::new();
        for (name, content) in sources {
            srcs.insert((*name).to_string(), json!({ "content": content }));
        }
        let input = json!({
            "language": "Solidity",
            "sources": srcs,
            "settings": {
                "optimizer": { "enabled": true, "runs": OPTIMIZER_RUNS },
                "evmVersion": EVM_VERSION,
                "outputSelection": { "*": { "*": [
                    "abi", "evm.bytecode.object", "evm.deployedBytecode.object", "evm.methodIdentifiers"
                ] } }
            }
        });
        let mut child = Command::new(&self.node)
            .arg(&self.solc_js)
            .arg("--standard-json")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                ChainError::SolcRun(format!(
                    "cannot run `{} {}`: {e} (is node installed? set CUPROOF_NODE)",
                    self.node.display(),
                    self.solc_js.display()
                ))
            })?;
        {
            let mut stdin = child
                .stdin
                .take()
                .ok_or_else(|| ChainError::SolcRun("no stdin pipe".into()))?;
            stdin.write_all(input.to_string().as_bytes())?;
        }
        let out = child.wait_with_output()?;
        if !out.status.success() {
            return Err(ChainError::SolcRun(format!(
                "exit status {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        parse_output(&String::from_utf8_lossy(&out.stdout))
    }
}

/// Compile sources with the discovered solc (see the module documentation).
pub fn compile_with_solc(sources: &[(&str, &str)]) -> Result<Compiled> {
    Solc::discover()?.compile(sources)
}

fn parse_output(stdout: &str) -> Result<Compiled> {
    // solcjs may print diagnostic lines (e.g. about SMT solvers) before the JSON document.
    let start = stdout
        .find("\n{")
        .map(|i| i + 1)
        .or_else(|| stdout.starts_with('{').then_some(0))
        .ok_or_else(|| ChainError::SolcOutput("no JSON document in output".into()))?;
    let v: Value = serde_json::from_str(&stdout[start..])
        .map_err(|e| ChainError::SolcOutput(format!("invalid JSON: {e}")))?;
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    if let Some(list) = v.get("errors").and_then(Value::as_array) {
        for e in list {
            let msg = e
                .get("formattedMessage")
                .or_else(|| e.get("message"))
                .and_then(Value::as_str)
                .unwrap_or("(no message)")
                .to_string();
            match e.get("severity").and_then(Value::as_str) {
                Some("error") => errors.push(msg),
                Some("warning") => warnings.push(msg),
                _ => {}
            }
        }
    }
    if !errors.is_empty() {
        return Err(ChainError::SolcCompile(errors.join("\n")));
    }
    let mut contracts = BTreeMap::new();
    let files = v
        .get("contracts")
        .and_then(Value::as_object)
        .ok_or_else(|| ChainError::SolcOutput("no `contracts` object".into()))?;
    for per_file in files.values() {
        let per_file = per_file
            .as_object()
            .ok_or_else(|| ChainError::SolcOutput("contracts entry is not an object".into()))?;
        for (name, c) in per_file {
            let hex_field = |path: &[&str]| -> Result<Vec<u8>> {
                let mut cur = c;
                for k in path {
                    cur = cur.get(*k).ok_or_else(|| {
                        ChainError::SolcOutput(format!("{name}: missing {}", path.join(".")))
                    })?;
                }
                let s = cur.as_str().ok_or_else(|| {
                    ChainError::SolcOutput(format!("{name}: {} is not a string", path.join(".")))
                })?;
                hex::decode(s).map_err(|e| {
                    ChainError::SolcOutput(format!("{name}: {} is not hex: {e}", path.join(".")))
                })
            };
            let creation = hex_field(&["evm", "bytecode", "object"])?;
            let runtime = hex_field(&["evm", "deployedBytecode", "object"])?;
            let abi = c.get("abi").map(Value::to_string).unwrap_or_default();
            let mut method_identifiers = BTreeMap::new();
            if let Some(m) = c
                .get("evm")
                .and_then(|e| e.get("methodIdentifiers"))
                .and_then(Value::as_object)
            {
                for (sig, sel) in m {
                    if let Some(sel) = sel.as_str() {
                        method_identifiers.insert(sig.clone(), sel.to_string());
                    }
                }
            }
            contracts.insert(
                name.clone(),
                CompiledContract {
                    creation,
                    runtime,
                    abi,
                    method_identifiers,
                },
            );
        }
    }
    Ok(Compiled {
        contracts,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_output_with_prefix_noise() {
        let out = ">>> Cannot retry compilation with SMT because there are no SMT solvers available.\n\
            {\"contracts\":{\"a.sol\":{\"A\":{\"abi\":[],\"evm\":{\"bytecode\":{\"object\":\"6001\"},\
            \"deployedBytecode\":{\"object\":\"00\"},\"methodIdentifiers\":{\"f()\":\"26121ff0\"}}}}},\
            \"errors\":[{\"severity\":\"warning\",\"formattedMessage\":\"W\"}]}";
        let c = parse_output(out).expect("parse");
        let a = c.contract("A").expect("A");
        assert_eq!(a.creation, vec![0x60, 0x01]);
        assert_eq!(a.runtime, vec![0x00]);
        assert_eq!(a.method_identifiers["f()"], "26121ff0");
        assert_eq!(c.warnings, vec!["W".to_string()]);
        assert!(matches!(
            c.contract("B"),
            Err(ChainError::ContractNotFound(_))
        ));
    }

    #[test]
    fn missing_node_is_a_clear_error() {
        let solc = Solc::at("/nonexistent/cuproof-node", "/nonexistent/solc.js");
        assert_eq!(solc.solc_js(), Path::new("/nonexistent/solc.js"));
        match solc.compile(&[("a.sol", "")]) {
            Err(ChainError::SolcRun(m)) => assert!(m.contains("CUPROOF_NODE"), "{m}"),
            other => panic!("expected SolcRun, got {other:?}"),
        }
    }

    #[test]
    fn reports_compile_errors() {
        let out = "{\"errors\":[{\"severity\":\"error\",\"formattedMessage\":\"ParserError: x\"}]}";
        assert!(
            matches!(parse_output(out), Err(ChainError::SolcCompile(m)) if m.contains("ParserError"))
        );
        assert!(matches!(
            parse_output("garbage"),
            Err(ChainError::SolcOutput(_))
        ));
        assert!(matches!(
            parse_output("{\"contracts\":{\"a.sol\":{\"A\":{\"evm\":{}}}}}"),
            Err(ChainError::SolcOutput(_))
        ));
    }
}
