//! Deterministic CSV files of people for File connector tests and benchmarks: the same seed
//! and size always give the same bytes. Each person has twenty attributes; `groups` and
//! `proxyAddresses` hold several values (joined with `|`), `manager` holds the key of another
//! person in the file, and some values carry a comma, a quote or a line break so that every
//! row exercises the CSV parser.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// The header of a generated file, in column order; `id` is the key.
pub const PEOPLE_HEADER: [&str; 20] = [
    "id",
    "givenName",
    "surname",
    "displayName",
    "mail",
    "title",
    "department",
    "company",
    "employeeType",
    "telephoneNumber",
    "mobile",
    "office",
    "streetAddress",
    "city",
    "postalCode",
    "country",
    "manager",
    "groups",
    "proxyAddresses",
    "startDate",
];

/// The columns of [`PEOPLE_HEADER`] that hold several values.
pub const PEOPLE_MULTI_VALUED: [&str; 2] = ["groups", "proxyAddresses"];

/// The column of [`PEOPLE_HEADER`] that holds the key of another person.
pub const PEOPLE_REFERENCES: [&str; 1] = ["manager"];

const GIVEN_NAMES: [&str; 12] = [
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim",
    "Margaret", "Niklaus",
];
const SURNAMES: [&str; 12] = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Thompson",
    "Perlman",
    "Berners-Lee",
    "Hamilton",
    "Wirth",
];
const DEPARTMENTS: [&str; 6] = [
    "Finance",
    "Research, Development",
    "Sales",
    "Operations",
    "People \"HR\"",
    "Legal",
];
const CITIES: [&str; 5] = ["London", "Manchester", "Leeds", "Bristol", "Glasgow"];

/// A small, fast, seeded generator (SplitMix64); statistical quality is not needed here.
struct Sequence(u64);

impl Sequence {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut mixed = self.0;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^ (mixed >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }

    fn pick<'a>(&mut self, choices: &[&'a str]) -> &'a str {
        choices[self.below(choices.len() as u64) as usize]
    }
}

/// The key of the person at `index` (zero-based).
pub fn person_key(index: u64) -> String {
    format!("P{index:07}")
}

/// Writes `objects` people generated from `seed` to `writer` as CSV with `delimiter`.
pub fn write_people<W: Write>(
    writer: W,
    objects: u64,
    seed: u64,
    delimiter: u8,
) -> std::io::Result<()> {
    let mut csv = csv_writer(writer, delimiter);
    csv.write_record(PEOPLE_HEADER).map_err(into_io)?;
    let mut sequence = Sequence(seed);
    let mut row: Vec<String> = Vec::with_capacity(PEOPLE_HEADER.len());
    for index in 0..objects {
        row.clear();
        let given = sequence.pick(&GIVEN_NAMES);
        let surname = sequence.pick(&SURNAMES);
        let key = person_key(index);
        let city = sequence.pick(&CITIES);
        // The first person has no manager; everyone else reports to someone before them.
        let manager = if index == 0 {
            String::new()
        } else {
            person_key(sequence.below(index))
        };
        let groups: Vec<String> = (0..1 + sequence.below(5))
            .map(|_| format!("group-{:03}", sequence.below(200)))
            .collect();
        let mail = format!("{}.{}{}@example.test", given, surname, index).to_lowercase();
        row.extend([
            key,
            given.to_string(),
            surname.to_string(),
            format!("{surname}, {given}"),
            mail.clone(),
            format!("Engineer grade {}", sequence.below(9)),
            sequence.pick(&DEPARTMENTS).to_string(),
            "Example Ltd".to_string(),
            ["Employee", "Contractor"][sequence.below(2) as usize].to_string(),
            format!("+44 20 7946 {:04}", sequence.below(10_000)),
            format!("+44 7700 9{:05}", sequence.below(100_000)),
            format!("{city} office, floor {}", sequence.below(12)),
            format!("{} High Street\n{city}", 1 + sequence.below(300)),
            city.to_string(),
            format!("AB{} {}CD", sequence.below(99), sequence.below(9)),
            "United Kingdom".to_string(),
            manager,
            groups.join("|"),
            format!("SMTP:{mail}|smtp:{}@legacy.example.test", index),
            format!(
                "20{:02}-{:02}-{:02}",
                10 + sequence.below(16),
                1 + sequence.below(12),
                1 + sequence.below(28)
            ),
        ]);
        csv.write_record(&row).map_err(into_io)?;
    }
    csv.flush()
}

/// Writes the people file to `path` (through a temporary file and a rename).
pub fn write_people_file(
    path: &Path,
    objects: u64,
    seed: u64,
    delimiter: u8,
) -> std::io::Result<()> {
    let temporary = path.with_extension("partial");
    let file = File::create(&temporary)?;
    write_people(
        BufWriter::with_capacity(256 * 1024, file),
        objects,
        seed,
        delimiter,
    )?;
    std::fs::rename(&temporary, path)
}

fn csv_writer<W: Write>(writer: W, delimiter: u8) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(writer)
}

fn into_io(error: csv::Error) -> std::io::Error {
    match error.into_kind() {
        csv::ErrorKind::Io(error) => error,
        other => std::io::Error::other(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        let mut first = Vec::new();
        let mut second = Vec::new();
        write_people(&mut first, 50, 7, b',').unwrap();
        write_people(&mut second, 50, 7, b',').unwrap();
        assert_eq!(first, second);
        let mut other = Vec::new();
        write_people(&mut other, 50, 8, b',').unwrap();
        assert_ne!(first, other);
    }

    #[test]
    fn every_row_has_twenty_fields_and_a_manager_before_it() {
        let mut bytes = Vec::new();
        write_people(&mut bytes, 200, 1, b',').unwrap();
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        let mut rows = 0;
        for (index, record) in reader.records().enumerate() {
            let record = record.unwrap();
            assert_eq!(record.len(), 20);
            assert_eq!(&record[0], person_key(index as u64));
            if index > 0 {
                assert!(record[16] < record[0], "{record:?}");
            }
            rows += 1;
        }
        assert_eq!(rows, 200);
    }
}
