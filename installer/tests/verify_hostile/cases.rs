//! The corpus: each case is the valid test bundle with one thing damaged or made hostile, and
//! the exact message it must be refused with.

use std::path::PathBuf;

use jim_checksums::{MANIFEST_FILE_NAME, SIGNATURE_FILE_NAME};

use crate::verify_support::{
    self, IMAGE, Keys, Member, TOP, bundle_files, gzip, manifest_of, members_with, tar_bytes,
};

/// One variant: the archive file's bytes, whether the test key is trusted, and the message.
pub struct Case {
    pub name: &'static str,
    pub archive: Vec<u8>,
    pub trust_key: bool,
    /// The expected message, with `{archive}` standing for the archive's path.
    pub message: String,
    /// A fragment the causes must hold, when the message alone does not tell the case apart.
    pub cause: Option<&'static str>,
}

impl Case {
    fn new(name: &'static str, archive: Vec<u8>, message: impl Into<String>) -> Self {
        Self {
            name,
            archive,
            trust_key: true,
            message: message.into(),
            cause: None,
        }
    }

    fn untrusted(mut self) -> Self {
        self.trust_key = false;
        self
    }

    fn cause(mut self, cause: &'static str) -> Self {
        self.cause = Some(cause);
        self
    }
}

/// Everything the cases are made from.
pub struct Fixture {
    pub keys: Keys,
    pub other_keys: Keys,
    /// Where the absolute-path member would land if it were honoured.
    pub absolute_target: PathBuf,
}

impl Fixture {
    /// The members of the valid bundle, signed by the trusted key.
    fn signed(&self) -> Vec<Member> {
        verify_support::valid_members(Some(&self.keys))
    }

    /// The valid signed archive with one more member at the end.
    fn with(&self, extra: Member) -> Vec<u8> {
        let mut members = self.signed();
        members.push(extra);
        archive(&members)
    }
}

fn archive(members: &[Member]) -> Vec<u8> {
    gzip(&tar_bytes(members))
}

fn manifest_text() -> String {
    manifest_of(&bundle_files()).render()
}

fn refused(member: &str, reason: &str) -> String {
    format!("refused member `{member}`: {reason}")
}

fn mismatch(finding: &str) -> String {
    format!("`{{archive}}` does not match its checksum manifest: {finding}")
}

const DAMAGED: &str = "the archive `{archive}` is damaged or truncated";
const NO_LINKS: &str = "a JIM bundle holds no links, so every link is refused";
const ONLY_FILES: &str = "a JIM bundle holds only regular files and folders";

/// Every case, in the order the pass meets the problems: content, structure, names, types,
/// manifest, signature, then what lies around the archive.
pub fn all(fixture: &Fixture) -> Vec<Case> {
    let key_id = fixture.keys.public.key_id();
    let valid = archive(&fixture.signed());
    let in_top = |path: &str| format!("{TOP}/{path}");
    let mut cases = Vec::new();

    let mut members = fixture.signed();
    let image = members
        .iter_mut()
        .find(|m| m.name() == in_top(IMAGE))
        .unwrap();
    image.data[4000] ^= 0x20;
    cases.push(Case::new(
        "flipped byte in the image",
        archive(&members),
        mismatch(&format!("checksum mismatch for `{IMAGE}`")),
    ));

    let mut members = fixture.signed();
    members.retain(|member| member.name() != in_top("docs/INSTALL.md"));
    cases.push(Case::new(
        "missing file",
        archive(&members),
        mismatch(
            "`docs/INSTALL.md` is listed in the checksum manifest but missing from the bundle",
        ),
    ));

    cases.push(Case::new(
        "unlisted extra file",
        fixture.with(Member::file(&in_top("extra.bin"), b"not listed")),
        mismatch("`extra.bin` is in the bundle but not listed in the checksum manifest"),
    ));

    cases.push(
        Case::new(
            "truncated archive",
            valid[..valid.len() * 3 / 5].to_vec(),
            DAMAGED,
        )
        .cause("incomplete deflate stream"),
    );

    let mut bad_crc = valid.clone();
    let crc_offset = bad_crc.len() - 8;
    bad_crc[crc_offset] ^= 0xff;
    cases.push(
        Case::new("gzip checksum does not match", bad_crc, DAMAGED)
            .cause("corrupt gzip stream does not have a matching checksum"),
    );

    // The manifest's header is the second block, after the top folder's.
    let mut tar = tar_bytes(&fixture.signed());
    tar[512 + 10] ^= 0x01;
    cases.push(
        Case::new("tar header checksum does not match", gzip(&tar), DAMAGED)
            .cause("archive header checksum mismatch"),
    );

    cases.push(Case::new(
        "path traversal",
        fixture.with(Member::file(&in_top("../evil"), b"escaped")),
        refused(
            &in_top("../evil"),
            "it has a `..` component, which could write outside the destination",
        ),
    ));

    let absolute = fixture.absolute_target.display().to_string();
    cases.push(Case::new(
        "absolute path",
        fixture.with(Member::file(&absolute, b"escaped")),
        refused(
            &absolute,
            "it is an absolute path, which could write anywhere on this host",
        ),
    ));

    cases.push(Case::new(
        "dot component",
        fixture.with(Member::file(
            &in_top("./README.txt"),
            b"same file, other name",
        )),
        refused(
            &in_top("./README.txt"),
            "it has an empty or `.` component; bundle paths are plain",
        ),
    ));

    let mut name = in_top("caf").into_bytes();
    name.extend_from_slice(b"\xe9.txt");
    cases.push(Case::new(
        "name that is not UTF-8",
        fixture.with(Member::raw(&name, b'0', b"latin-1 name".to_vec(), 0o644)),
        refused(&in_top("caf\u{fffd}.txt"), "the name is not valid UTF-8"),
    ));

    let mut members = fixture.signed();
    members.push(Member::link(&in_top("docs/link"), b'2', "../../../.."));
    members.push(Member::file(&in_top("docs/link/evil"), b"through the link"));
    cases.push(Case::new(
        "symbolic link escaping the tree",
        archive(&members),
        refused(
            &in_top("docs/link"),
            &format!("it is a symbolic link to `../../../..`; {NO_LINKS}"),
        ),
    ));

    cases.push(Case::new(
        "symbolic link inside the tree",
        fixture.with(Member::link(&in_top("docs/alias.md"), b'2', "INSTALL.md")),
        refused(
            &in_top("docs/alias.md"),
            &format!("it is a symbolic link to `INSTALL.md`; {NO_LINKS}"),
        ),
    ));

    cases.push(Case::new(
        "hard link escaping the tree",
        fixture.with(Member::link(&in_top("passwd"), b'1', "/etc/passwd")),
        refused(
            &in_top("passwd"),
            &format!("it is a hard link to `/etc/passwd`; {NO_LINKS}"),
        ),
    ));

    cases.push(Case::new(
        "device node",
        fixture.with(Member::raw(
            in_top("null").as_bytes(),
            b'3',
            Vec::new(),
            0o666,
        )),
        refused(
            &in_top("null"),
            &format!("it is a character device node; {ONLY_FILES}"),
        ),
    ));

    cases.push(Case::new(
        "fifo",
        fixture.with(Member::raw(
            in_top("pipe").as_bytes(),
            b'6',
            Vec::new(),
            0o644,
        )),
        refused(
            &in_top("pipe"),
            &format!("it is a named pipe (FIFO); {ONLY_FILES}"),
        ),
    ));

    let mut members = fixture.signed();
    members.insert(
        0,
        Member::raw(b"pax_global_header", b'g', b"9 a=b\n".to_vec(), 0o644),
    );
    cases.push(Case::new(
        "pax global header",
        archive(&members),
        refused(
            "pax_global_header",
            &format!("its tar entry type `g` is not supported; {ONLY_FILES}"),
        ),
    ));

    cases.push(Case::new(
        "duplicate member",
        fixture.with(Member::file(
            &in_top("README.txt"),
            b"a second, different copy",
        )),
        refused(
            &in_top("README.txt"),
            "it appears twice in the archive, so one copy could hide the other",
        ),
    ));

    cases.push(Case::new(
        "second top-level folder",
        fixture.with(Member::file(
            "jim-release-9.9.8/README.txt",
            b"another release",
        )),
        refused(
            "jim-release-9.9.8/README.txt",
            &format!(
                "it lies outside the bundle's top folder `{TOP}/`; a bundle has a single top folder"
            ),
        ),
    ));

    let mut members = fixture.signed();
    for member in &mut members {
        member.name = member.name().replacen(TOP, "bundle", 1).into_bytes();
    }
    cases.push(Case::new(
        "top folder not named like a release",
        archive(&members),
        "`bundle/` is not in a release folder: the archive's top folder must be \
         `jim-release-X.Y.Z`",
    ));

    let mut members = fixture.signed();
    members[0] = Member::file(TOP, b"a file where the folder should be");
    cases.push(Case::new(
        "top folder stored as a file",
        archive(&members),
        refused(
            TOP,
            "the bundle's top folder is stored as something other than a folder",
        ),
    ));

    let manifest = in_top(MANIFEST_FILE_NAME);
    let mut members = fixture.signed();
    let readme = members.remove(members.len() - bundle_files().len());
    members.insert(1, readme);
    cases.push(Case::new(
        "manifest not first",
        archive(&members),
        format!(
            "`{manifest}` must be the first file of the archive, but `{}` comes before it",
            in_top("README.txt")
        ),
    ));

    let mut members = fixture.signed();
    members.truncate(1);
    cases.push(Case::new(
        "no manifest at all",
        archive(&members),
        format!("`{{archive}}` holds no checksum manifest `{MANIFEST_FILE_NAME}`"),
    ));

    let text = manifest_text().replacen("  VERSION", " VERSION", 1);
    cases.push(
        Case::new(
            "malformed checksum line",
            archive(&members_with(text.as_bytes(), None, &bundle_files())),
            format!(
                "line 2 of the checksum manifest `{manifest}` is malformed: the digest must be \
                 followed by two spaces (or a space and `*`)"
            ),
        )
        .untrusted(),
    );

    let text = manifest_text();
    let text = format!("{text}{}\n", text.lines().next().unwrap());
    cases.push(
        Case::new(
            "file listed twice in the manifest",
            archive(&members_with(text.as_bytes(), None, &bundle_files())),
            format!(
                "line {} of the checksum manifest `{manifest}` is malformed: `README.txt` is \
                 already listed on line 1",
                bundle_files().len() + 1
            ),
        )
        .untrusted(),
    );

    // The image is swapped and the manifest rewritten to match, but the signature is the one
    // made over the original manifest.
    let mut files = bundle_files();
    files[4].1[10] ^= 0x01;
    let forged = manifest_of(&files).render();
    let original_signature = fixture.keys.sign(manifest_text().as_bytes());
    cases.push(
        Case::new(
            "wrong signature",
            archive(&members_with(
                forged.as_bytes(),
                Some(original_signature),
                &files,
            )),
            format!(
                "the signature of the checksum manifest of `{{archive}}` does not verify with \
                 the trusted key `{key_id}`"
            ),
        )
        .cause("Signature verification failed"),
    );

    let garbage = Some(b"not a minisign signature".to_vec());
    cases.push(Case::new(
        "signature that is not a signature",
        archive(&members_with(
            manifest_text().as_bytes(),
            garbage,
            &bundle_files(),
        )),
        "the signature of the checksum manifest of `{archive}` is not a minisign signature",
    ));

    cases.push(Case::new(
        "missing signature with a trusted key",
        archive(&verify_support::valid_members(None)),
        format!(
            "the checksum manifest of `{{archive}}` is not signed, but the trusted key \
             `{key_id}` requires a signature"
        ),
    ));

    cases.push(Case::new(
        "signature by another key",
        archive(&verify_support::valid_members(Some(&fixture.other_keys))),
        format!(
            "the checksum manifest of `{{archive}}` is signed by key `{}`, not by the trusted \
             key `{key_id}`",
            fixture.other_keys.public.key_id()
        ),
    ));

    let mut members = verify_support::valid_members(None);
    let signature = fixture.keys.sign(manifest_text().as_bytes());
    members.push(Member::file(&in_top(SIGNATURE_FILE_NAME), &signature));
    cases.push(
        Case::new(
            "signature after the files",
            archive(&members),
            format!(
                "the signature `{}` must come right after the checksum manifest",
                in_top(SIGNATURE_FILE_NAME)
            ),
        )
        .untrusted(),
    );

    let mut hidden = tar_bytes(&fixture.signed());
    hidden.extend_from_slice(&tar_bytes(&[Member::file(&in_top("hidden"), b"x")]));
    cases.push(Case::new(
        "member hidden after the tar end marker",
        gzip(&hidden),
        "the archive `{archive}` holds data after the end of its tar archive",
    ));

    let mut trailing = valid;
    trailing.extend_from_slice(&gzip(b"a second gzip member"));
    cases.push(Case::new(
        "data after the gzip stream",
        trailing,
        "the archive `{archive}` holds data after the end of its gzip stream",
    ));

    cases.push(Case::new(
        "gzip garbage",
        b"PK\x03\x04 this is a zip file, or anything else but gzip".to_vec(),
        "`{archive}` is not a gzip-compressed tar archive",
    ));

    cases
}
