//! Pack files as editors and outside tools leave them: byte order marks, UTF-16, invalid UTF-8,
//! control characters and numbers that are not hours, each read or refused naming the file and
//! the line or byte; and a seeded fuzz of the tiny pack's files that loads every mutation.

mod common;

use std::path::Path;

use triage::answer::StatusStore;
use triage::pack::Pack;

/// The files of the tiny pack, every one of which the fuzz test mutates.
const FILES: [&str; 7] = [
    "intents.csv",
    "train.csv",
    "test.csv",
    "queues.csv",
    "pack.toml",
    "status.json",
    "templates.toml",
];

/// Loads the pack in `dir` as the server does (the pack, then its status data and templates),
/// returning the first error's message.
fn load(dir: &Path) -> Result<(), String> {
    let pack = Pack::load(dir).map_err(|error| error.to_string())?;
    let now = jiff::Timestamp::from_second(1_795_165_200).expect("a time");
    StatusStore::for_pack(&pack, now).map_err(|error| error.to_string())?;
    Ok(())
}

/// Whether `message` shows every control character escaped (line breaks aside, which
/// multi-line parser messages use).
fn escaped(message: &str) -> bool {
    !message.chars().any(|c| c.is_control() && c != '\n')
}

/// A copy of the tiny pack with `file` replaced by `content`.
fn pack_with(file: &str, content: &[u8]) -> tempfile::TempDir {
    let dir = common::tiny_pack_copy();
    std::fs::write(dir.path().join(file), content).expect("write the file");
    dir
}

/// The bytes of the tiny pack's `file`.
fn fixture(file: &str) -> Vec<u8> {
    std::fs::read(common::tiny_pack().join(file)).expect("fixture file")
}

/// The tiny pack's `file` with the first `from` replaced by `to`.
fn changed(file: &str, from: &[u8], to: &[u8]) -> Vec<u8> {
    let original = fixture(file);
    let at = original
        .windows(from.len())
        .position(|window| window == from)
        .unwrap_or_else(|| panic!("{file} has no {:?}", String::from_utf8_lossy(from)));
    [&original[..at], to, &original[at + from.len()..]].concat()
}

/// Each bad file is refused with its name, the line or byte at fault, and control characters
/// escaped; a UTF-8 byte order mark is read past in every file.
#[test]
fn bad_pack_files_are_refused_saying_where() {
    let utf16: Vec<u8> = std::fs::read_to_string(common::tiny_pack().join("intents.csv"))
        .unwrap()
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let utf16 = [&b"\xFF\xFE"[..], &utf16].concat();
    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        (
            "train.csv",
            changed("train.csv", b"is the monthly", b"is the \xFFmonthly"),
            vec!["train.csv: line 3: invalid UTF-8 at byte "],
        ),
        (
            "status.json",
            changed("status.json", b"Acme Ltd", b"Acme \xC3("),
            vec!["status.json: line 6: invalid UTF-8 at byte 98"],
        ),
        (
            "templates.toml",
            [
                &b"\xEF\xBB\xBF# \xE9t\xE9\n"[..],
                &fixture("templates.toml"),
            ]
            .concat(),
            vec!["templates.toml: line 1: invalid UTF-8 at byte 5"],
        ),
        ("intents.csv", utf16, vec!["intents.csv: is UTF-16"]),
        (
            "queues.csv",
            changed("queues.csv", b",4\n", b",inf\n"),
            vec!["queues.csv:3:", "\"inf\"", "not a finite number of hours"],
        ),
        (
            "queues.csv",
            changed("queues.csv", b",4\n", b",1e400\n"),
            vec!["queues.csv:3:", "\"1e400\"", "not a finite number of hours"],
        ),
        (
            "queues.csv",
            changed("queues.csv", b",4\n", b",NaN\n"),
            vec!["queues.csv:3:", "\"NaN\"", "not a finite number of hours"],
        ),
        (
            "queues.csv",
            changed("queues.csv", b",4\n", b",1e12\n"),
            vec!["queues.csv:3:", "at most 87600"],
        ),
        (
            "intents.csv",
            changed("intents.csv", b"expert,seo,", b"expert,sales,"),
            vec![
                "intents.csv:4:",
                "routes to queue \"sales\", which queues.csv",
            ],
        ),
        (
            "intents.csv",
            changed(
                "intents.csv",
                b"invoice_status,direct",
                b"invoice_status,dir\0ect",
            ),
            vec!["intents.csv:3:", "unknown tier \"dir\\0ect\""],
        ),
        (
            "train.csv",
            changed("train.csv", b",report_eta", b",report\x1b[2J_eta"),
            vec!["train.csv:2:", "label \"report\\u{1b}[2J_eta\""],
        ),
        (
            "status.json",
            changed("status.json", b"\"gold\"", b"\"go\\u0000ld\""),
            vec!["status.json: client \"acme\": unknown tier \"go\\0ld\""],
        ),
        (
            "pack.toml",
            changed(
                "pack.toml",
                b"name = \"tiny\"",
                b"name = \"tiny\"\n\"\\u0007bell\" = 1",
            ),
            vec!["pack.toml:", "\\u{7}bell"],
        ),
    ];
    for (file, content, expected) in cases {
        let dir = pack_with(file, &content);
        let message = load(dir.path()).expect_err(file);
        for part in expected {
            assert!(message.contains(part), "{message:?} lacks {part:?}");
        }
        assert!(escaped(&message), "{message:?}");
    }
    for file in FILES {
        let with_bom = [&b"\xEF\xBB\xBF"[..], &fixture(file)].concat();
        let dir = pack_with(file, &with_bom);
        assert_eq!(load(dir.path()), Ok(()), "{file} with a byte order mark");
    }
}

/// The byte order marks of UTF-8, UTF-16 LE and UTF-16 BE.
const BYTE_ORDER_MARKS: [&[u8]; 3] = [b"\xEF\xBB\xBF", b"\xFF\xFE", b"\xFE\xFF"];

/// Sequences that are not UTF-8 (a stray byte, a cut character, a surrogate, a code point past
/// U+10FFFF), and a NUL, which is.
const INVALID_UTF8: [&[u8]; 5] = [
    b"\xFF",
    b"\xC3",
    b"\xED\xA0\x80",
    b"\xF4\x90\x80\x80",
    b"\0",
];

/// One random change to `bytes`: a byte flipped, the file cut, a byte order mark (UTF-8 or
/// UTF-16) put first, an invalid UTF-8 sequence or a NUL put anywhere, or a line doubled.
fn mutate(rng: &mut fastrand::Rng, bytes: &mut Vec<u8>) {
    let at = rng.usize(..=bytes.len());
    let insert: Vec<u8> = match rng.u8(..6) {
        0 if !bytes.is_empty() => {
            let index = rng.usize(..bytes.len());
            bytes[index] ^= rng.u8(1..);
            return;
        }
        1 => {
            bytes.truncate(at);
            return;
        }
        2 => {
            let mark = rng.choice(BYTE_ORDER_MARKS).expect("marks");
            bytes.splice(0..0, mark.iter().copied());
            return;
        }
        3 | 4 => rng.choice(INVALID_UTF8).expect("sequences").to_vec(),
        _ => {
            let line = bytes[at..]
                .split(|&byte| byte == b'\n')
                .next()
                .unwrap_or(&[]);
            [line, b"\n"].concat()
        }
    };
    bytes.splice(at..at, insert);
}

/// How many mutated packs the fuzz test loads.
const FUZZ_CASES: u64 = 600;

/// Seeded mutations of the tiny pack's files (byte flips, cuts, byte order marks, invalid
/// UTF-8, NULs, doubled lines) never panic the loader, and every refusal names a pack file and
/// shows control characters escaped.
#[test]
fn mutated_packs_load_or_are_refused_naming_a_file() {
    let originals: Vec<Vec<u8>> = FILES.iter().map(|file| fixture(file)).collect();
    let dir = common::tiny_pack_copy();
    let mut refused = 0;
    for case in 0..FUZZ_CASES {
        let mut rng = fastrand::Rng::with_seed(0x7061_636b ^ case);
        let target = rng.usize(..FILES.len());
        let mut bytes = originals[target].clone();
        for _ in 0..rng.usize(1..=3) {
            mutate(&mut rng, &mut bytes);
        }
        for (file, original) in FILES.iter().zip(&originals) {
            let content = if *file == FILES[target] {
                &bytes
            } else {
                original
            };
            std::fs::write(dir.path().join(file), content).expect("write the file");
        }
        let outcome = std::panic::catch_unwind(|| load(dir.path()))
            .unwrap_or_else(|_| panic!("case {case}: loading {} panicked", FILES[target]));
        if let Err(message) = outcome {
            refused += 1;
            assert!(
                FILES.iter().any(|file| message.contains(file)),
                "case {case} ({}): {message:?} names no pack file",
                FILES[target]
            );
            assert!(escaped(&message), "case {case}: {message:?}");
        }
    }
    println!("{FUZZ_CASES} mutated packs loaded, {refused} refused");
    assert!(refused > 0, "no mutation was refused");
}
