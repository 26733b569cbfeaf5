//! Writes a deterministic CSV of people for File connector tests and benchmarks.
//!
//! `jim-generate-csv --objects 100000 --seed 1 --output people.csv`

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Write a CSV of generated people: twenty attributes, two of them multi-valued and one a
/// reference to another person's key. The same seed and size always give the same file.
#[derive(Parser)]
#[command(name = "jim-generate-csv", version)]
struct Arguments {
    /// How many people (rows after the header).
    #[arg(long)]
    objects: u64,
    /// The seed of the generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The field delimiter, one ASCII character.
    #[arg(long, default_value_t = ',')]
    delimiter: char,
    /// The file to write; it appears whole or not at all.
    #[arg(long)]
    output: PathBuf,
}

fn main() -> ExitCode {
    let arguments = Arguments::parse();
    if !arguments.delimiter.is_ascii() || arguments.delimiter == '"' {
        eprintln!(
            "error: the delimiter `{}` is not usable\nhint: use one ASCII character such as `,` or `;`",
            arguments.delimiter
        );
        return ExitCode::from(2);
    }
    match jim_testkit::csv_people::write_people_file(
        &arguments.output,
        arguments.objects,
        arguments.seed,
        arguments.delimiter as u8,
    ) {
        Ok(()) => {
            println!("{}", arguments.output.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!(
                "error: cannot write `{}`: {error}\nhint: check that the folder exists and is writable",
                arguments.output.display()
            );
            ExitCode::FAILURE
        }
    }
}
