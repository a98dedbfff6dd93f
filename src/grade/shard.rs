//! A class graded in shards on the engines courses already have (Slurm job arrays, Kubernetes
//! Indexed Jobs, GitLab parallel jobs, GNU parallel), and the shards merged into one gradebook.
//!
//! Contract:
//! - The partition is deterministic: submissions sorted by directory name, the one at
//!   position `p` in shard `p % N`. It never depends on the order directories were given or
//!   read in.
//! - `DIR/grades.shard-I-of-N.jsonl` holds the shard's manifest on its first line (`shard`,
//!   `lab`, `lab_hash`, `labctl_version`, `submissions`: every submission of the shard by
//!   name), then one line per submission: `submission`, `lab`, `lab_hash`, `labctl_version`,
//!   `shard`, `score`, `max`, `checks` (as in `--format json`), and `error` for one that could
//!   not be graded or `lab_not_run` for one graded without its lab. The file is written under
//!   a temporary name and renamed, so it is there whole or not at all.
//! - [`merge_main`] writes the gradebook a single run over the same submissions writes, byte
//!   for byte, or exits 1 naming what is wrong: a shard missing or given twice, a submission
//!   missing or graded twice, shards of another lab, lab version or labctl version.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::gradebook::{self, BookFormat, Row};
use super::{CheckGrade, Grade, Rubric, rubric};
use crate::verdict::{Error, Verdict};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Shard `index` of `count`, 0-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// `I/N`, 0 <= I < N.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("--shard {text:?}: expected I/N with 0 <= I < N (e.g. 0/4), or auto");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count): (usize, usize) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// The shard the job runner says this process is, from its environment: Slurm job
    /// arrays, Kubernetes Indexed Jobs, GitLab `parallel:` jobs or GNU parallel. Refuses when
    /// none or more than one applies.
    pub fn auto(env: &dyn Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let num = |name: &str| -> Result<Option<usize>, String> {
            match env(name) {
                None => Ok(None),
                Some(v) => v
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| format!("--shard auto: {name}={v:?} is not a number")),
            }
        };
        let need = |name: &str, by: &str| -> Result<usize, String> {
            num(name)?.ok_or_else(|| format!("--shard auto: {by} is set but {name} is not"))
        };
        // (the runner, its (index, count) or what is missing)
        type Found<'a> = Vec<(&'a str, Result<(usize, usize), String>)>;
        let mut found: Found = Vec::new();
        if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
            let r = (|| {
                let min = need("SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_ID")?;
                let count = need("SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_ID")?;
                let index = id.checked_sub(min).ok_or_else(|| {
                    format!(
                        "--shard auto: SLURM_ARRAY_TASK_ID {id} is below SLURM_ARRAY_TASK_MIN {min}"
                    )
                })?;
                Ok((index, count))
            })();
            found.push(("Slurm (SLURM_ARRAY_TASK_ID)", r));
        }
        if let Some(index) = num("JOB_COMPLETION_INDEX")? {
            let r = need("LABCTL_SHARDS", "JOB_COMPLETION_INDEX").map(|n| (index, n));
            found.push(("Kubernetes (JOB_COMPLETION_INDEX)", r));
        }
        // The runners that number their jobs from 1, and where each keeps the count.
        let from_one = [
            ("GitLab (CI_NODE_INDEX)", "CI_NODE_INDEX", "CI_NODE_TOTAL"),
            (
                "GNU parallel (PARALLEL_SEQ)",
                "PARALLEL_SEQ",
                "LABCTL_SHARDS",
            ),
        ];
        for (runner, index, total) in from_one {
            if let Some(nth) = num(index)? {
                let r = need(total, index).and_then(|n| {
                    nth.checked_sub(1)
                        .map(|i| (i, n))
                        .ok_or_else(|| format!("--shard auto: {index} counts from 1, not 0"))
                });
                found.push((runner, r));
            }
        }
        match found.as_slice() {
            [] => Err(
                "--shard auto: no job runner's shard in the environment (Slurm \
                       SLURM_ARRAY_TASK_ID, Kubernetes JOB_COMPLETION_INDEX with LABCTL_SHARDS, \
                       GitLab CI_NODE_INDEX, GNU parallel PARALLEL_SEQ with LABCTL_SHARDS)"
                    .into(),
            ),
            [(by, r)] => {
                let (index, count) = r.clone()?;
                if count == 0 || index >= count {
                    return Err(format!(
                        "--shard auto: {by} gives shard {index} of {count}, which does not exist"
                    ));
                }
                Ok(Shard { index, count })
            }
            many => Err(format!(
                "--shard auto: several job runners' shards are in the environment ({}); give \
                 --shard I/N",
                many.iter()
                    .map(|(by, _)| *by)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    /// Whether the submission at `position` of the sorted class is in this shard.
    pub fn holds(&self, position: usize) -> bool {
        position % self.count == self.index
    }

    pub fn file_name(&self) -> String {
        format!("grades.shard-{}-of-{}.jsonl", self.index, self.count)
    }
}

/// A fingerprint of the lab as graded: its rubric file, its resolved checks and the steps of
/// its scenario (FNV-1a, 64 bits). Shards graded against different labs do not merge.
pub fn lab_hash(rubric: &Rubric) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    feed(&std::fs::read(rubric.dir.join("rubric.toml")).unwrap_or_default());
    feed(format!("{:?}", rubric.checks).as_bytes());
    feed(format!("{:?}", rubric.plan.steps).as_bytes());
    format!("{hash:016x}")
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    shard: String,
    lab: String,
    lab_hash: String,
    labctl_version: String,
    submissions: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Line {
    submission: String,
    lab: String,
    lab_hash: String,
    labctl_version: String,
    shard: String,
    score: u32,
    max: u32,
    checks: Vec<CheckGrade>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lab_not_run: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Writes `dir/grades.shard-I-of-N.jsonl` for the rows of one shard.
pub fn write(dir: &Path, shard: Shard, rubric: &Rubric, rows: &[Row]) -> Result<PathBuf, Error> {
    let hash = lab_hash(rubric);
    let manifest = Manifest {
        shard: shard.to_string(),
        lab: rubric.lab.clone(),
        lab_hash: hash.clone(),
        labctl_version: VERSION.into(),
        submissions: rows.iter().map(|r| r.submission.clone()).collect(),
    };
    let mut out = serde_json::to_string(&manifest).expect("a manifest serialises");
    out.push('\n');
    for r in rows {
        let (score, max, checks, lab_not_run, error) = match &r.grade {
            Ok(g) => (
                g.score,
                g.max,
                g.checks.clone(),
                g.lab_not_run.clone(),
                None,
            ),
            Err(e) => (0, rubric.max(), Vec::new(), None, Some(e.clone())),
        };
        let line = Line {
            submission: r.submission.clone(),
            lab: rubric.lab.clone(),
            lab_hash: hash.clone(),
            labctl_version: VERSION.into(),
            shard: shard.to_string(),
            score,
            max,
            checks,
            lab_not_run,
            error,
        };
        out.push_str(&serde_json::to_string(&line).expect("a line serialises"));
        out.push('\n');
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::msg(format!("{}: {e}", dir.display())))?;
    let path = dir.join(shard.file_name());
    let partial = dir.join(format!(".{}.partial", shard.file_name()));
    std::fs::write(&partial, out)
        .and_then(|()| std::fs::rename(&partial, &path))
        .map_err(|e| Error::msg(format!("{}: {e}", path.display())))?;
    Ok(path)
}

/// `labctl merge-grades`'s command line.
#[derive(Debug, Clone, clap::Args)]
pub struct MergeArgs {
    /// The shards' results files (grades.shard-I-of-N.jsonl), every shard once
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Where to write the gradebook
    #[arg(long, value_name = "FILE")]
    pub gradebook: PathBuf,
    /// The gradebook's format, as for `labctl grade`
    #[arg(long, value_enum, default_value_t = BookFormat::Csv)]
    pub gradebook_format: BookFormat,
    /// The Canvas roster, for --gradebook-format canvas
    #[arg(long, value_name = "CSV")]
    pub roster: Option<PathBuf>,
}

/// One shard file, read.
struct Read {
    file: PathBuf,
    manifest: Manifest,
    lines: Vec<Line>,
}

fn read(file: &Path) -> Result<Read, Error> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Error::msg(format!("{}: {e}", file.display())))?;
    let mut lines = text.lines().enumerate();
    let (_, first) = lines.next().ok_or_else(|| {
        Error::msg(format!(
            "{}:1: empty, expected a shard manifest",
            file.display()
        ))
    })?;
    let manifest: Manifest = serde_json::from_str(first)
        .map_err(|e| Error::msg(format!("{}:1: not a shard manifest ({e})", file.display())))?;
    let lines = lines
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str::<Line>(l).map_err(|e| {
                Error::msg(format!(
                    "{}:{}: not a submission's line ({e})",
                    file.display(),
                    i + 1
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Read {
        file: file.to_path_buf(),
        manifest,
        lines,
    })
}

/// What is wrong with a set of shards, if anything; else their rows, sorted.
fn check(shards: &[Read], rubric_hash: &str) -> Result<Vec<Row>, String> {
    let first = &shards[0].manifest;
    let count = Shard::parse(&first.shard)
        .map_err(|e| format!("{}: {e}", shards[0].file.display()))?
        .count;
    let mut seen: BTreeMap<usize, &Path> = BTreeMap::new();
    for s in shards {
        let m = &s.manifest;
        let here = s.file.display();
        let shard = Shard::parse(&m.shard).map_err(|e| format!("{here}: {e}"))?;
        if shard.count != count {
            return Err(format!(
                "{here} is shard {shard}, but {} is of {count} shards",
                shards[0].file.display()
            ));
        }
        if m.lab != first.lab {
            return Err(format!(
                "{here} grades lab {:?}, {} lab {:?}",
                m.lab,
                shards[0].file.display(),
                first.lab
            ));
        }
        if m.lab_hash != first.lab_hash {
            return Err(format!(
                "{here} was graded against another version of lab {} (lab_hash {} and {})",
                m.lab, m.lab_hash, first.lab_hash
            ));
        }
        if m.labctl_version != first.labctl_version {
            return Err(format!(
                "{here} was graded by labctl {}, {} by labctl {}",
                m.labctl_version,
                shards[0].file.display(),
                first.labctl_version
            ));
        }
        if let Some(other) = seen.insert(shard.index, &s.file) {
            return Err(format!(
                "shard {shard} is given twice ({} and {here})",
                other.display()
            ));
        }
    }
    if let Some(missing) = (0..count).find(|i| !seen.contains_key(i)) {
        return Err(format!(
            "shard {missing}/{count} is missing (grades.shard-{missing}-of-{count}.jsonl)"
        ));
    }
    if first.labctl_version != VERSION {
        return Err(format!(
            "the shards were graded by labctl {}, this is labctl {VERSION}",
            first.labctl_version
        ));
    }
    if first.lab_hash != rubric_hash {
        return Err(format!(
            "the shards were graded against another version of lab {} than this one (lab_hash \
             {} here {rubric_hash})",
            first.lab, first.lab_hash
        ));
    }
    // The class is every manifest's submissions; each must be in the shard the partition
    // gives it, which shows all shards were cut from the same class.
    let mut class: BTreeMap<&str, usize> = BTreeMap::new();
    for s in shards {
        let index = Shard::parse(&s.manifest.shard)
            .map_err(|e| e.to_string())?
            .index;
        for name in &s.manifest.submissions {
            if class.insert(name, index).is_some() {
                return Err(format!("submission {name:?} is in two shards"));
            }
        }
    }
    for (position, (name, index)) in class.iter().enumerate() {
        if position % count != *index {
            return Err(format!(
                "submission {name:?} is in shard {index}/{count}, but the class the shards \
                 together name puts it in shard {}/{count}: the shards were cut from different \
                 classes (a submission is missing from one)",
                position % count
            ));
        }
    }
    let mut rows = Vec::new();
    let mut graded: BTreeSet<&str> = BTreeSet::new();
    for s in shards {
        let listed: BTreeSet<&str> = s.manifest.submissions.iter().map(String::as_str).collect();
        for l in &s.lines {
            let here = s.file.display();
            if !listed.contains(l.submission.as_str()) {
                return Err(format!(
                    "{here}: submission {:?} is not in its shard's manifest",
                    l.submission
                ));
            }
            if l.lab != first.lab
                || l.lab_hash != first.lab_hash
                || l.labctl_version != first.labctl_version
                || l.shard != s.manifest.shard
            {
                return Err(format!(
                    "{here}: submission {:?} was graded by another run than its shard",
                    l.submission
                ));
            }
            if !graded.insert(&l.submission) {
                return Err(format!("submission {:?} is graded twice", l.submission));
            }
            rows.push(Row {
                submission: l.submission.clone(),
                grade: match &l.error {
                    Some(e) => Err(e.clone()),
                    None => Ok(Grade {
                        lab: l.lab.clone(),
                        submission: l.submission.clone(),
                        score: l.score,
                        max: l.max,
                        checks: l.checks.clone(),
                        notes: Vec::new(),
                        lab_not_run: l.lab_not_run.clone(),
                    }),
                },
            });
        }
        if let Some(missing) = listed.iter().find(|n| !graded.contains(*n)) {
            return Err(format!(
                "submission {missing:?} of shard {} has no result in {}",
                s.manifest.shard,
                s.file.display()
            ));
        }
    }
    gradebook::sort(&mut rows);
    Ok(rows)
}

/// `labctl merge-grades`: the shards' results into one gradebook. Files that cannot be read
/// are bad input ([`Error`], exit 2); shards that do not add up to the class are
/// [`Verdict::Failed`] (exit 1), named on standard error, with no gradebook written.
pub fn merge_main(args: &MergeArgs) -> Result<Verdict, Error> {
    let shards: Vec<Read> = args
        .files
        .iter()
        .map(|f| read(f))
        .collect::<Result<_, _>>()?;
    let rubric = rubric::load(&shards[0].manifest.lab)?;
    let roster = super::batch::roster(args.gradebook_format, args.roster.as_deref())?;
    let rows = match check(&shards, &lab_hash(&rubric)) {
        Ok(rows) => rows,
        Err(why) => {
            eprintln!("labctl: merge-grades: {why}");
            return Ok(Verdict::Failed);
        }
    };
    if let Some(roster) = &roster {
        let names: Vec<String> = rows.iter().map(|r| r.submission.clone()).collect();
        roster.matches(&names).map_err(|e| {
            Error::msg(format!(
                "{}: {e}",
                args.roster.as_deref().unwrap_or(Path::new("")).display()
            ))
        })?;
    }
    let text = gradebook::render(args.gradebook_format, &rubric, &rows, roster.as_ref());
    std::fs::write(&args.gradebook, text)
        .map_err(|e| Error::msg(format!("{}: {e}", args.gradebook.display())))?;
    println!(
        "merged {} submissions from {} shards: {}",
        rows.len(),
        shards.len(),
        args.gradebook.display()
    );
    Ok(Verdict::Passed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn shards_parse_as_i_of_n() {
        assert_eq!(Shard::parse("2/4"), Ok(Shard { index: 2, count: 4 }));
        for bad in ["4/4", "1/0", "x/2", "3", "-1/2"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn auto_reads_each_runner_with_its_own_base() {
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "12"),
            ("SLURM_ARRAY_TASK_MIN", "10"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(Shard::auto(&slurm), Ok(Shard { index: 2, count: 4 }));
        let k8s = env(&[("JOB_COMPLETION_INDEX", "0"), ("LABCTL_SHARDS", "3")]);
        assert_eq!(Shard::auto(&k8s), Ok(Shard { index: 0, count: 3 }));
        let gitlab = env(&[("CI_NODE_INDEX", "3"), ("CI_NODE_TOTAL", "3")]);
        assert_eq!(Shard::auto(&gitlab), Ok(Shard { index: 2, count: 3 }));
        let parallel = env(&[("PARALLEL_SEQ", "1"), ("LABCTL_SHARDS", "4")]);
        assert_eq!(Shard::auto(&parallel), Ok(Shard { index: 0, count: 4 }));
    }

    #[test]
    fn auto_refuses_none_several_or_incomplete() {
        assert!(
            Shard::auto(&env(&[]))
                .unwrap_err()
                .contains("no job runner")
        );
        let both = env(&[
            ("CI_NODE_INDEX", "1"),
            ("CI_NODE_TOTAL", "2"),
            ("PARALLEL_SEQ", "1"),
            ("LABCTL_SHARDS", "2"),
        ]);
        let e = Shard::auto(&both).unwrap_err();
        assert!(
            e.contains("several") && e.contains("GitLab") && e.contains("GNU parallel"),
            "{e}"
        );
        let e = Shard::auto(&env(&[("PARALLEL_SEQ", "1")])).unwrap_err();
        assert!(e.contains("LABCTL_SHARDS"), "{e}");
        let e = Shard::auto(&env(&[("PARALLEL_SEQ", "5"), ("LABCTL_SHARDS", "4")])).unwrap_err();
        assert!(e.contains("does not exist"), "{e}");
        let e = Shard::auto(&env(&[("CI_NODE_INDEX", "0"), ("CI_NODE_TOTAL", "2")])).unwrap_err();
        assert!(e.contains("counts from 1"), "{e}");
    }

    #[test]
    fn the_partition_covers_every_position_once() {
        let shards: Vec<Shard> = (0..3).map(|index| Shard { index, count: 3 }).collect();
        for p in 0..10 {
            assert_eq!(shards.iter().filter(|s| s.holds(p)).count(), 1);
        }
    }
}
