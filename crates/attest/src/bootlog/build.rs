//! Writing firmware event logs: [`BootLogBuilder`] (for tests and tools) and [`simulated_firmware`], the boot
//! that cuproof plays into a *software* TPM it started itself so that the measured-boot path (log, replay, policy)
//! runs end to end on machines without a TPM. A simulated boot proves nothing: the receipt says
//! `tpm = software`, and a production policy refuses software TPMs.

use super::uefi::{
    ImageLoad, SignatureEntry, UefiVariable, EFI_GLOBAL_VARIABLE, EFI_IMAGE_SECURITY_DATABASE,
};
use super::*;

/// Writes a crypto-agile firmware event log.
#[derive(Debug, Clone)]
pub struct BootLogBuilder {
    banks: Vec<Bank>,
    out: Vec<u8>,
    events: usize,
    extends: Vec<(u8, [u8; 32])>,
}

impl BootLogBuilder {
    /// A log whose Spec ID event declares `banks` (TPM_ALG_IDs; ids this crate cannot hash are left out).
    pub fn new(banks: &[u16]) -> Self {
        let banks: Vec<Bank> = banks
            .iter()
            .filter_map(|&alg| {
                hash_with(alg, b"").map(|h| Bank {
                    alg,
                    size: h.len() as u16,
                })
            })
            .collect();
        let mut spec = Vec::new();
        spec.extend_from_slice(SPEC_ID_SIGNATURE);
        spec.extend_from_slice(&0u32.to_le_bytes()); // platformClass: client
        spec.extend_from_slice(&[0, 2, 0, 2]); // version 2.0 errata 0, UINTN = UINT64
        spec.extend_from_slice(&(banks.len() as u32).to_le_bytes());
        for b in &banks {
            spec.extend_from_slice(&b.alg.to_le_bytes());
            spec.extend_from_slice(&b.size.to_le_bytes());
        }
        spec.push(0); // vendorInfoSize
        let mut out = Vec::new();
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&EV_NO_ACTION.to_le_bytes());
        out.extend_from_slice(&[0u8; 20]);
        out.extend_from_slice(&(spec.len() as u32).to_le_bytes());
        out.extend_from_slice(&spec);
        BootLogBuilder {
            banks,
            out,
            events: 0,
            extends: Vec::new(),
        }
    }

    fn push(&mut self, pcr: u32, ty: u32, digests: &[Vec<u8>], data: &[u8]) {
        self.out.extend_from_slice(&pcr.to_le_bytes());
        self.out.extend_from_slice(&ty.to_le_bytes());
        self.out
            .extend_from_slice(&(self.banks.len() as u32).to_le_bytes());
        for (b, d) in self.banks.iter().zip(digests) {
            self.out.extend_from_slice(&b.alg.to_le_bytes());
            self.out.extend_from_slice(d);
        }
        self.out
            .extend_from_slice(&(data.len() as u32).to_le_bytes());
        self.out.extend_from_slice(data);
        self.events += 1;
        if ty != EV_NO_ACTION && pcr <= 23 {
            let i = self.banks.iter().position(|b| b.alg == ALG_SHA256);
            if let Some(i) = i {
                let mut d = [0u8; 32];
                d.copy_from_slice(&digests[i]);
                self.extends.push((pcr as u8, d));
            }
        }
    }

    /// A string measured by GRUB into PCR 8: data `"<kind>: <text>\0"`, digest the hash of `<text>`.
    pub fn grub_string(&mut self, kind: &str, text: &str) {
        let mut data = format!("{kind}: {text}").into_bytes();
        data.push(0);
        self.measure_content(8, EV_IPL, text.as_bytes(), &data);
    }

    /// An event whose digest in every bank is the hash of `data` (separators, variables, action strings).
    pub fn measure_data(&mut self, pcr: u32, ty: u32, data: &[u8]) {
        self.measure_content(pcr, ty, data, data);
    }

    /// An event that measures `content` and logs `data` (an image with its `UEFI_IMAGE_LOAD_EVENT`, a firmware
    /// volume with its location).
    pub fn measure_content(&mut self, pcr: u32, ty: u32, content: &[u8], data: &[u8]) {
        let digests: Vec<Vec<u8>> = self
            .banks
            .iter()
            .map(|b| hash_with(b.alg, content).unwrap_or_default())
            .collect();
        self.push(pcr, ty, &digests, data);
    }

    /// A `StartupLocality` no-action event.
    pub fn startup_locality(&mut self, locality: u8) {
        let mut data = STARTUP_LOCALITY_SIGNATURE.to_vec();
        data.push(locality);
        let zeros: Vec<Vec<u8>> = self
            .banks
            .iter()
            .map(|b| vec![0; b.size as usize])
            .collect();
        self.push(0, EV_NO_ACTION, &zeros, &data);
    }

    /// The (PCR, SHA-256 digest) extends of the events so far, in order: what to play into a TPM.
    pub fn sha256_extends(&self) -> &[(u8, [u8; 32])] {
        &self.extends
    }

    /// Events written so far (not counting the Spec ID event).
    pub fn events(&self) -> usize {
        self.events
    }

    /// The log bytes.
    pub fn finish(self) -> Vec<u8> {
        self.out
    }
}

/// The kernel the simulated GRUB boots.
pub const SIMULATED_KERNEL: &str = "/vmlinuz-6.1.0-cuproof";
/// The kernel command line of the simulated boot (IMA measuring with SHA-256 into `ima-ng` entries).
pub const SIMULATED_CMDLINE: &str =
    "root=UUID=c0dec0de-0001-0002-6375-70726f6f6621 ro quiet ima_policy=tcb ima_template=ima-ng ima_hash=sha256";

/// A simulated firmware boot: the log and what to extend.
#[derive(Debug, Clone)]
pub struct SimulatedBoot {
    /// The event log (SHA-1 and SHA-256 banks).
    pub bytes: Vec<u8>,
    /// Number of events after the Spec ID event.
    pub events: usize,
    /// (PCR, SHA-256 digest) in order: extending these into a fresh TPM's PCRs makes them match the log.
    pub extends: Vec<(u8, [u8; 32])>,
    /// SHA-256 digests of the boot applications it loads (shim, GRUB, the kernel), in order.
    pub boot_applications: Vec<[u8; 32]>,
}

/// A stand-in EFI_SIGNATURE_LIST with one X.509 entry (`EFI_CERT_X509_GUID`) whose "certificate" is `label`.
/// A signature database of one X.509-typed entry whose "certificate" is `label` (the simulated keys are labels,
/// not DER).
fn signature_list(label: &[u8]) -> Vec<u8> {
    super::uefi::encode_signature_lists(&[SignatureEntry {
        signature_type: super::uefi::EFI_CERT_X509,
        owner: SIMULATED_OWNER,
        data: label.to_vec(),
    }])
}

/// The owner GUID of the simulated firmware's signature entries.
const SIMULATED_OWNER: super::uefi::Guid = super::uefi::guid(0x0, 0, 0, *b"cuproof\0");

/// The revocations in the simulated dbx: SHA-256 entries of `SIMULATED_REVOKED_IMAGES` labels.
pub const SIMULATED_REVOKED_IMAGES: [&str; 3] = [
    "cuproof simulated revoked image 0",
    "cuproof simulated revoked image 1",
    "cuproof simulated revoked image 2",
];

/// The simulated dbx: one `EFI_CERT_SHA256` list of the SHA-256 of each revoked label.
fn simulated_dbx() -> Vec<u8> {
    let entries: Vec<SignatureEntry> = SIMULATED_REVOKED_IMAGES
        .iter()
        .map(|l| SignatureEntry {
            signature_type: super::uefi::EFI_CERT_SHA256,
            owner: SIMULATED_OWNER,
            data: sha2::Sha256::digest(l.as_bytes()).to_vec(),
        })
        .collect();
    super::uefi::encode_signature_lists(&entries)
}

/// `UEFI_GPT_DATA`: a GPT header (92 bytes) and one EFI system partition entry (128 bytes).
fn gpt_data() -> Vec<u8> {
    let esp = super::uefi::guid(
        0xc12a_7328,
        0xf81f,
        0x11d2,
        [0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b],
    );
    let mut v = Vec::with_capacity(92 + 8 + 128);
    v.extend_from_slice(b"EFI PART");
    v.extend_from_slice(&0x0001_0000u32.to_le_bytes()); // revision 1.0
    v.extend_from_slice(&92u32.to_le_bytes()); // header size
    v.extend_from_slice(&0u32.to_le_bytes()); // header CRC32 (not judged)
    v.extend_from_slice(&0u32.to_le_bytes()); // reserved
    for lba in [1u64, 0x3ff_ffff, 34, 0x3ff_ffde] {
        v.extend_from_slice(&lba.to_le_bytes()); // my, alternate, first usable, last usable LBA
    }
    v.extend_from_slice(&super::uefi::guid(0xc0de_c0de, 1, 2, *b"cuproof!")); // disk GUID
    v.extend_from_slice(&2u64.to_le_bytes()); // partition entry LBA
    v.extend_from_slice(&128u32.to_le_bytes()); // number of partition entries
    v.extend_from_slice(&128u32.to_le_bytes()); // size of one entry
    v.extend_from_slice(&0u32.to_le_bytes()); // entry array CRC32
    v.extend_from_slice(&1u64.to_le_bytes()); // NumberOfPartitions
    v.extend_from_slice(&esp);
    v.extend_from_slice(&super::uefi::guid(0xc0de_c0de, 3, 4, *b"cuproof!"));
    v.extend_from_slice(&2048u64.to_le_bytes());
    v.extend_from_slice(&1_050_623u64.to_le_bytes());
    v.extend_from_slice(&0u64.to_le_bytes()); // attributes
    let mut name = utf16z("EFI System Partition");
    name.resize(72, 0);
    v.extend_from_slice(&name);
    v
}

fn utf16z(s: &str) -> Vec<u8> {
    s.encode_utf16()
        .chain(std::iter::once(0))
        .flat_map(|u| u.to_le_bytes())
        .collect()
}

/// The boot cuproof simulates for a software TPM: the event sequence of a UEFI machine with Secure Boot on
/// booting shim → GRUB → Linux (CRTM version and firmware blob in PCR 0, boot variables in PCR 1, the Secure
/// Boot variables and the authority in PCR 7, separators in PCRs 0–7, the three applications in PCR 4, GRUB's
/// commands and kernel command line in PCR 8 and the files it reads in PCR 9, GPT and ExitBootServices in
/// PCR 5). Images and certificates are labelled stand-ins. Deterministic. SHA-1 and
/// SHA-256 banks.
pub fn simulated_firmware() -> SimulatedBoot {
    simulated_firmware_for(&[ALG_SHA1, ALG_SHA256])
}

/// [`simulated_firmware`] with the digest banks a TPM has active (a firmware logs exactly those).
pub fn simulated_firmware_for(banks: &[u16]) -> SimulatedBoot {
    let mut b = BootLogBuilder::new(banks);
    let var = |guid, name: &str, data: Vec<u8>| {
        UefiVariable {
            guid,
            name: name.into(),
            data,
        }
        .encode()
    };
    b.measure_data(
        0,
        EV_S_CRTM_VERSION,
        &utf16z("cuproof simulated firmware 1.0"),
    );
    let mut blob = Vec::new();
    blob.extend_from_slice(&0xffc8_4000u64.to_le_bytes());
    blob.extend_from_slice(&0x0037_c000u64.to_le_bytes());
    b.measure_content(
        0,
        EV_EFI_PLATFORM_FIRMWARE_BLOB,
        b"cuproof simulated firmware volume",
        &blob,
    );
    // Secure Boot configuration, PCR 7
    b.measure_data(
        7,
        EV_EFI_VARIABLE_DRIVER_CONFIG,
        &var(EFI_GLOBAL_VARIABLE, "SecureBoot", vec![1]),
    );
    for (guid, name, label) in [
        (
            EFI_GLOBAL_VARIABLE,
            "PK",
            &b"cuproof simulated platform key"[..],
        ),
        (
            EFI_GLOBAL_VARIABLE,
            "KEK",
            b"cuproof simulated key exchange key",
        ),
        (
            EFI_IMAGE_SECURITY_DATABASE,
            "db",
            b"cuproof simulated signature database CA",
        ),
    ] {
        b.measure_data(
            7,
            EV_EFI_VARIABLE_DRIVER_CONFIG,
            &var(guid, name, signature_list(label)),
        );
    }
    b.measure_data(
        7,
        EV_EFI_VARIABLE_DRIVER_CONFIG,
        &var(EFI_IMAGE_SECURITY_DATABASE, "dbx", simulated_dbx()),
    );
    // boot variables, PCR 1
    b.measure_data(
        1,
        EV_EFI_VARIABLE_BOOT,
        &var(EFI_GLOBAL_VARIABLE, "BootOrder", vec![1, 0]),
    );
    let mut opt = Vec::new();
    opt.extend_from_slice(&1u32.to_le_bytes()); // LOAD_OPTION_ACTIVE
    let path = ImageLoad::file_path_device_path("\\EFI\\debian\\shimx64.efi");
    opt.extend_from_slice(&(path.len() as u16).to_le_bytes());
    opt.extend_from_slice(&utf16z("debian"));
    opt.extend_from_slice(&path);
    b.measure_data(
        1,
        EV_EFI_VARIABLE_BOOT,
        &var(EFI_GLOBAL_VARIABLE, "Boot0001", opt),
    );
    b.measure_data(
        4,
        EV_EFI_ACTION,
        b"Calling EFI Application from Boot Option",
    );
    for pcr in 0..8 {
        b.measure_data(pcr, EV_SEPARATOR, &[0, 0, 0, 0]);
    }
    b.measure_data(5, EV_EFI_GPT_EVENT, &gpt_data());
    let mut apps = Vec::new();
    for (i, file) in [
        "\\EFI\\debian\\shimx64.efi",
        "\\EFI\\debian\\grubx64.efi",
        "\\vmlinuz-6.1.0-cuproof",
    ]
    .into_iter()
    .enumerate()
    {
        let image = format!("cuproof simulated image {file}");
        let load = ImageLoad {
            location: 0x7d00_0000 + 0x0100_0000 * i as u64,
            length: 0x0010_0000,
            link_time_address: 0,
            device_path: ImageLoad::file_path_device_path(file),
        };
        b.measure_content(
            4,
            EV_EFI_BOOT_SERVICES_APPLICATION,
            image.as_bytes(),
            &load.encode(),
        );
        let mut d = [0u8; 32];
        d.copy_from_slice(&sha2::Sha256::digest(image.as_bytes()));
        apps.push(d);
        if i == 1 {
            // GRUB runs: its commands and the kernel command line (PCR 8), the files it loads (PCR 9)
            b.grub_string(
                "grub_cmd",
                &format!("linux {SIMULATED_KERNEL} {SIMULATED_CMDLINE}"),
            );
            b.grub_string(
                "kernel_cmdline",
                &format!("{SIMULATED_KERNEL} {SIMULATED_CMDLINE}"),
            );
            b.grub_string("grub_cmd", "initrd /initrd.img-6.1.0-cuproof");
            for f in [SIMULATED_KERNEL, "/initrd.img-6.1.0-cuproof"] {
                let mut name = f.as_bytes().to_vec();
                name.push(0);
                b.measure_content(
                    9,
                    EV_IPL,
                    format!("cuproof simulated file {f}").as_bytes(),
                    &name,
                );
            }
        }
        if i == 0 {
            // shim was verified against db: the authority event
            b.measure_data(
                7,
                EV_EFI_VARIABLE_AUTHORITY,
                &var(
                    EFI_IMAGE_SECURITY_DATABASE,
                    "db",
                    signature_list(b"cuproof simulated signature database CA")[28..].to_vec(),
                ),
            );
        }
    }
    b.measure_data(5, EV_EFI_ACTION, b"Exit Boot Services Invocation");
    b.measure_data(
        5,
        EV_EFI_ACTION,
        b"Exit Boot Services Returned with Success",
    );
    SimulatedBoot {
        events: b.events(),
        extends: b.sha256_extends().to_vec(),
        bytes: b.finish(),
        boot_applications: apps,
    }
}
