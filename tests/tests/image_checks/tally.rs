//! Per-file outcomes of the corpus checks and their totals.

use sealcam_test_support::summary;

/// What the checks found for one file.
#[derive(Default)]
pub struct Outcome {
    pub name: String,
    pub problems: Vec<String>,
    pub clean: bool,
    pub pixel_identical: bool,
    /// `Some(decodes)` when the pixel check ran.
    pub input_decodes: Option<bool>,
    pub output_fails_the_same_way: bool,
    pub decoder_orientation_differs: bool,
    pub heic_items_identical: bool,
    pub maker_only_in_icc: bool,
}

/// Results over a set of files; problems are "file: what" lines.
#[derive(Default)]
pub struct Tally {
    pub files: usize,
    pub clean: usize,
    pub pixel_identical: usize,
    pub decodable_inputs: usize,
    pub undecodable_inputs: usize,
    pub undecodable_outputs_too: usize,
    pub decoder_orientation_differs: Vec<String>,
    pub heic_items_identical: usize,
    pub maker_only_in_icc: usize,
    pub problems: Vec<String>,
    pub known: Vec<String>,
}

impl Tally {
    /// Adds up `outcomes`; files in `known_failing` (name, defect) have
    /// their problems set aside as known.
    pub fn of(outcomes: Vec<Outcome>, known_failing: &[(&str, &str)]) -> Tally {
        let mut t = Tally::default();
        for o in outcomes {
            t.files += 1;
            t.clean += usize::from(o.clean);
            t.pixel_identical += usize::from(o.pixel_identical);
            t.decodable_inputs += usize::from(o.input_decodes == Some(true));
            t.undecodable_inputs += usize::from(o.input_decodes == Some(false));
            t.undecodable_outputs_too += usize::from(o.output_fails_the_same_way);
            t.heic_items_identical += usize::from(o.heic_items_identical);
            t.maker_only_in_icc += usize::from(o.maker_only_in_icc);
            if o.decoder_orientation_differs {
                t.decoder_orientation_differs.push(o.name.clone());
            }
            t.record(&o.name, o.problems, known_failing);
        }
        t
    }

    /// Files the problems of one file, honouring `KNOWN_FAILING`.
    fn record(&mut self, name: &str, problems: Vec<String>, known_failing: &[(&str, &str)]) {
        let known = known_failing.iter().find(|(f, _)| *f == name);
        match (known, problems.is_empty()) {
            (Some((_, why)), true) => self.problems.push(format!(
                "{name}: listed in KNOWN_FAILING ({why}) but passes: remove it from the list"
            )),
            (Some(_), false) => self
                .known
                .extend(problems.into_iter().map(|p| format!("{name}: {p}"))),
            (None, _) => self
                .problems
                .extend(problems.into_iter().map(|p| format!("{name}: {p}"))),
        }
    }

    /// Prints `line` and the known failures; fails on any other problem.
    pub fn finish(&self, line: &str) {
        summary(line);
        for k in &self.known {
            summary(&format!("  KNOWN FAILING {k}"));
        }
        assert!(
            self.problems.is_empty(),
            "{} problems:\n  {}",
            self.problems.len(),
            self.problems.join("\n  ")
        );
    }
}
