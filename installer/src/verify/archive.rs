//! The single streaming pass over a `.tar.gz` bundle: gzip, then tar members, each judged and
//! hashed as it passes, and written into a staging folder when extracting.
//!
//! The manifest comes first in every archive `jim-bundle` writes, so the pass knows each
//! file's expected digest before the file's bytes arrive, and checks the signature before it
//! reads anything else. Nothing is ever seeked, so the archive may be a pipe or slow media.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::mem;
use std::path::Path;

use flate2::bufread::GzDecoder;
use jim_checksums::signature::PublicKey;
use jim_checksums::{ChecksumManifest, HashingReader, Sha256Digest};
use jim_checksums::{MANIFEST_FILE_NAME, SIGNATURE_FILE_NAME};

use crate::verify::authenticity::{SIGNATURE_SIZE_LIMIT, check_signature};
use crate::verify::extract::StagingWriter;
use crate::verify::member::{Member, MemberJudge, MemberKind};
use crate::verify::{Authenticity, BundleForm, MismatchedFile, VerifyError, VerifyReport};

/// The read buffer over the archive file; large reads suit USB sticks and optical media.
const READ_BUFFER_SIZE: usize = 1024 * 1024;
/// The buffer members are copied through.
const COPY_BUFFER_SIZE: usize = 256 * 1024;
/// The largest manifest accepted: far above the few kilobytes a release needs, far below
/// what would strain memory.
pub(crate) const MANIFEST_SIZE_LIMIT: u64 = 16 * 1024 * 1024;
/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The archive file as the pass reads it: hashed as a whole, buffered.
type Source = BufReader<HashingReader<File>>;

/// Where the pass stands with respect to the manifest and its signature.
enum Phase {
    /// Nothing but the top folder has been seen.
    AwaitingManifest,
    /// The manifest has been read; its signature may come next.
    AwaitingSignature {
        manifest: ChecksumManifest,
        text: Vec<u8>,
    },
    /// The signature question is settled; the files follow.
    Files {
        manifest: ChecksumManifest,
        authenticity: Authenticity,
    },
}

/// Reads the archive once, verifying it, and writes its files into `staging` when given.
pub(crate) fn stream(
    archive: &Path,
    trusted_key: Option<&PublicKey>,
    staging: Option<&StagingWriter>,
) -> Result<VerifyReport, VerifyError> {
    let damaged = |source| VerifyError::Damaged {
        path: archive.to_owned(),
        source,
    };
    let file = File::open(archive).map_err(|source| VerifyError::OpenBundle {
        path: archive.to_owned(),
        source,
    })?;
    let mut source = BufReader::with_capacity(READ_BUFFER_SIZE, HashingReader::new(file));
    if !source.fill_buf().map_err(damaged)?.starts_with(&GZIP_MAGIC) {
        return Err(VerifyError::NotGzip {
            path: archive.to_owned(),
        });
    }

    let mut tar = tar::Archive::new(GzDecoder::new(source));
    let mut pass = Pass {
        archive,
        trusted_key,
        staging,
        judge: MemberJudge::default(),
        phase: Phase::AwaitingManifest,
        found: Found::default(),
    };
    for entry in tar.entries().map_err(damaged)? {
        pass.member(entry.map_err(damaged)?)?;
    }
    let archive_sha256 = drain(archive, tar.into_inner())?;
    pass.finish(archive_sha256)
}

/// Reads what follows the tar end marker and the gzip stream, which must be zeros and
/// nothing respectively, and gives the digest of the whole archive file.
fn drain(archive: &Path, mut decoder: GzDecoder<Source>) -> Result<Sha256Digest, VerifyError> {
    let damaged = |source| VerifyError::Damaged {
        path: archive.to_owned(),
        source,
    };
    let trailing = |layer| VerifyError::TrailingData {
        path: archive.to_owned(),
        layer,
    };

    // The end marker and the record padding are zero blocks; anything else would be content
    // that other tar readers might still extract.
    let mut buffer = vec![0u8; COPY_BUFFER_SIZE];
    loop {
        let count = read_retrying(&mut decoder, &mut buffer).map_err(damaged)?;
        if count == 0 {
            break;
        }
        if buffer[..count].iter().any(|&byte| byte != 0) {
            return Err(trailing("tar archive"));
        }
    }

    // The decoder stops at the end of the first gzip member; a second one is refused too.
    let mut source = decoder.into_inner();
    if !source.fill_buf().map_err(damaged)?.is_empty() {
        return Err(trailing("gzip stream"));
    }
    Ok(source.into_inner().finish().1)
}

/// The state of one pass.
struct Pass<'a> {
    archive: &'a Path,
    trusted_key: Option<&'a PublicKey>,
    staging: Option<&'a StagingWriter>,
    judge: MemberJudge,
    phase: Phase,
    found: Found,
}

/// What the files after the manifest turned out to be.
#[derive(Default)]
struct Found {
    /// The digests of listed files, as computed.
    computed: BTreeMap<String, Sha256Digest>,
    /// Files the manifest does not list.
    unlisted: Vec<String>,
    /// The bytes of listed files hashed so far.
    bytes_hashed: u64,
}

impl Pass<'_> {
    /// Judges one member and uses it according to the phase.
    fn member<R: Read>(&mut self, mut entry: tar::Entry<'_, R>) -> Result<(), VerifyError> {
        let member = self.judge.judge(&entry)?;
        if let Phase::AwaitingManifest = self.phase {
            return self.manifest(&mut entry, member);
        }
        if let Phase::AwaitingSignature { .. } = self.phase {
            if member.path == SIGNATURE_FILE_NAME {
                let signature = read_small(self, &mut entry, &member, SIGNATURE_SIZE_LIMIT)?;
                return self.settle_signature(Some(&signature));
            }
            self.settle_signature(None)?;
        }
        match &self.phase {
            Phase::Files { manifest, .. } => {
                let context = Context {
                    archive: self.archive,
                    staging: self.staging,
                };
                self.found.file(&context, manifest, entry, member)
            }
            // `settle_signature` has moved every pass that got here on to `Files`.
            Phase::AwaitingManifest | Phase::AwaitingSignature { .. } => Ok(()),
        }
    }

    /// Reads the manifest, which must come before any other file.
    fn manifest<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        member: Member,
    ) -> Result<(), VerifyError> {
        if member.kind == MemberKind::Folder && member.path.is_empty() {
            return Ok(());
        }
        if member.path != MANIFEST_FILE_NAME {
            let manifest = match self.judge.top_folder() {
                Some(top) => format!("{top}/{MANIFEST_FILE_NAME}"),
                None => MANIFEST_FILE_NAME.to_owned(),
            };
            return Err(VerifyError::ManifestNotFirst {
                manifest,
                member: member.name,
            });
        }
        let text = read_small(self, entry, &member, MANIFEST_SIZE_LIMIT)?;
        let manifest = ChecksumManifest::parse(&text).map_err(|error| match error {
            jim_checksums::Error::MalformedLine { line, reason } => {
                VerifyError::MalformedManifest {
                    manifest: member.name.clone(),
                    line,
                    reason,
                }
            }
            source => VerifyError::ManifestUnreadable {
                manifest: member.name.clone(),
                source,
            },
        })?;
        self.phase = Phase::AwaitingSignature { manifest, text };
        Ok(())
    }

    /// Checks the manifest's signature (or its absence) and moves on to the files.
    fn settle_signature(&mut self, signature: Option<&[u8]>) -> Result<(), VerifyError> {
        let phase = mem::replace(&mut self.phase, Phase::AwaitingManifest);
        let Phase::AwaitingSignature { manifest, text } = phase else {
            self.phase = phase;
            return Ok(());
        };
        let authenticity = check_signature(self.archive, &text, signature, self.trusted_key)?;
        self.phase = Phase::Files {
            manifest,
            authenticity,
        };
        Ok(())
    }

    /// Compares what was seen with the manifest, once every member has passed.
    fn finish(mut self, archive_sha256: Sha256Digest) -> Result<VerifyReport, VerifyError> {
        self.settle_signature(None)?;
        let Phase::Files {
            manifest,
            authenticity,
        } = self.phase
        else {
            return Err(VerifyError::ManifestMissing {
                bundle: self.archive.to_owned(),
                manifest: MANIFEST_FILE_NAME.to_owned(),
            });
        };

        let mut report = VerifyReport {
            bundle: self.archive.to_owned(),
            form: BundleForm::Archive,
            release: self.judge.top_folder().map(str::to_owned),
            authenticity,
            verified: Vec::new(),
            mismatched: Vec::new(),
            missing: Vec::new(),
            unlisted: self.found.unlisted,
            bytes_hashed: self.found.bytes_hashed,
            archive_sha256: Some(archive_sha256),
        };
        for (path, expected) in manifest.iter() {
            match self.found.computed.get(path) {
                Some(computed) if computed == expected => report.verified.push(path.to_owned()),
                Some(computed) => report.mismatched.push(MismatchedFile {
                    path: path.to_owned(),
                    expected: *expected,
                    computed: *computed,
                }),
                None => report.missing.push(path.to_owned()),
            }
        }
        report.unlisted.sort();
        Ok(report)
    }
}

/// What copying a member needs to know about the pass.
struct Context<'a> {
    archive: &'a Path,
    staging: Option<&'a StagingWriter>,
}

impl Context<'_> {
    fn damaged(&self, source: io::Error) -> VerifyError {
        VerifyError::Damaged {
            path: self.archive.to_owned(),
            source,
        }
    }
}

impl Found {
    /// Hashes (and writes, when extracting) a member that follows the manifest.
    fn file<R: Read>(
        &mut self,
        context: &Context<'_>,
        manifest: &ChecksumManifest,
        entry: tar::Entry<'_, R>,
        member: Member,
    ) -> Result<(), VerifyError> {
        if member.path == SIGNATURE_FILE_NAME {
            return Err(VerifyError::SignatureMisplaced {
                member: member.name,
            });
        }
        let executable = match member.kind {
            MemberKind::Folder => {
                if let Some(staging) = context.staging {
                    staging.create_folder(&member.path)?;
                }
                return Ok(());
            }
            MemberKind::File { executable } => executable,
        };
        if manifest.get(&member.path).is_none() {
            // An unlisted file is never written: the pass fails at its end anyway.
            self.unlisted.push(member.path);
            return Ok(());
        }

        let mut output = match context.staging {
            Some(staging) => Some((staging, staging.create_file(&member.path)?)),
            None => None,
        };
        let mut reader = HashingReader::new(entry);
        let mut buffer = vec![0u8; COPY_BUFFER_SIZE];
        loop {
            let count = read_retrying(&mut reader, &mut buffer)
                .map_err(|source| context.damaged(source))?;
            if count == 0 {
                break;
            }
            if let Some((staging, file)) = output.as_mut() {
                staging.write(file, &member.path, &buffer[..count])?;
            }
        }
        if reader.byte_count() != member.size {
            return Err(context.damaged(ends_early(&member)));
        }
        if let Some((staging, file)) = output {
            staging.finish_file(file, &member.path, executable)?;
        }
        self.bytes_hashed += member.size;
        self.computed.insert(member.path, reader.digest());
        Ok(())
    }
}

/// Reads a small member whole (the manifest or its signature), writing it to staging too.
fn read_small<R: Read>(
    pass: &Pass<'_>,
    entry: &mut tar::Entry<'_, R>,
    member: &Member,
    limit: u64,
) -> Result<Vec<u8>, VerifyError> {
    let context = Context {
        archive: pass.archive,
        staging: pass.staging,
    };
    if member.size > limit {
        return Err(if member.path == MANIFEST_FILE_NAME {
            VerifyError::ManifestTooLarge {
                manifest: member.name.clone(),
                limit,
            }
        } else {
            VerifyError::SignatureUnreadable {
                bundle: pass.archive.to_owned(),
                source: jim_checksums::Error::InvalidSignature {
                    reason: format!("`{}` is larger than {limit} bytes", member.name),
                },
            }
        });
    }
    let mut bytes = Vec::new();
    entry
        .take(limit)
        .read_to_end(&mut bytes)
        .map_err(|source| context.damaged(source))?;
    if bytes.len() as u64 != member.size {
        return Err(context.damaged(ends_early(member)));
    }
    if let Some(staging) = context.staging {
        let mut file = staging.create_file(&member.path)?;
        staging.write(&mut file, &member.path, &bytes)?;
        staging.finish_file(file, &member.path, false)?;
    }
    Ok(bytes)
}

/// The cause given when a member holds fewer bytes than its header declares.
fn ends_early(member: &Member) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!(
            "member `{}` ends before the {} bytes its header declares",
            member.name, member.size
        ),
    )
}

/// Reads once, retrying when interrupted by a signal.
fn read_retrying(reader: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buffer) {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            result => return result,
        }
    }
}
