//! The job runners README shows for a class graded in shards, each a file in `docs/` that
//! README shows verbatim (checked here), run as its runner would run it:
//!
//! - `docs/slurm/grade.sbatch` on a real single-node Slurm cluster (Debian's slurm-wlm and
//!   munge): the test makes a munge key, starts munged, slurmctld and slurmd with a minimal
//!   `slurm.conf`, all in a scratch directory and inside a network namespace of their own that
//!   has only loopback (so nothing listens anywhere else), waits for the node to be idle,
//!   submits the script with `sbatch --array=0-3 --wait`, merges the four shards and compares
//!   the gradebook with the one a single `labctl grade --gradebook` writes, byte for byte. A
//!   guard kills every process of the cluster, even when the test fails.
//! - `docs/kubernetes/grade-job.yaml` and `docs/github-actions/grade.yml` parsed as YAML, their
//!   key facts asserted (an Indexed Job of 4 completions with `LABCTL_SHARDS` 4, a matrix of 4
//!   shards given to `--shard`), and their commands run for each index the runner would give,
//!   merged and compared with the one-machine gradebook the same way.
//!
//! Each file's paragraph in README must say what the runner has to allow for labctl's
//! namespaces. These tests need root (as CI runs), like the other tests that make namespaces.

mod kit;

use kit::grading::{class, shard_files};
use kit::{Netns, assert_exit, described, labctl, require, root, run, scratch, text};
use serde_json::Value;
use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const LAB: &str = "homework-redirect";

/// The text of `docs/...` file `rel`, after asserting README shows it verbatim in a fenced
/// block of `lang`; with it, the paragraph README puts just before that block.
fn shown(rel: &str, lang: &str) -> (String, String) {
    let file = std::fs::read_to_string(root().join(rel)).unwrap();
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let block = format!("```{lang}\n{file}```\n");
    let at = readme
        .find(&block)
        .unwrap_or_else(|| panic!("README.md does not show {rel} verbatim as a ```{lang} block"));
    let before = readme[..at].trim_end();
    let note = &before[before.rfind("\n\n").map_or(0, |i| i + 2)..];
    assert!(
        note.contains(rel),
        "the paragraph before {rel}'s block in README does not name it: {note}"
    );
    (file, note.replace('\n', " "))
}

/// The YAML file `rel` that README shows, parsed, after asserting README says before it what
/// the runner must allow for user namespaces, in words that include `says`.
fn readme_yaml(rel: &str, says: &str) -> Value {
    let (src, note) = shown(rel, "yaml");
    assert!(note.contains("user namespaces"), "{note}");
    assert!(note.contains(says), "{note}");
    serde_norway::from_str(&src).unwrap_or_else(|e| panic!("{rel} is not valid YAML: {e}"))
}

/// A class in `work/class`, and the gradebook one `labctl grade --gradebook` writes for it.
fn class_graded_alone(work: &Path) -> Vec<u8> {
    let dirs = class(&work.join("class"));
    let single = work.join("single.csv");
    let o = labctl()
        .args(["grade", LAB])
        .args(&dirs)
        .arg("--gradebook")
        .arg(&single)
        .output()
        .unwrap();
    assert_exit(&o, 0);
    let book = std::fs::read(&single).unwrap();
    assert_eq!(text(&book).lines().count(), 7, "{}", text(&book));
    book
}

/// A shell in `work` that finds the labctl under test first on its PATH, with none of the
/// variables `--shard auto` reads from other runners.
fn shell(work: &Path, script: &str) -> Command {
    let mut c = Command::new("sh");
    c.args(["-c", script]).current_dir(work).env("PATH", path());
    for v in [
        "SLURM_ARRAY_TASK_ID",
        "SLURM_ARRAY_TASK_MIN",
        "SLURM_ARRAY_TASK_COUNT",
        "JOB_COMPLETION_INDEX",
        "LABCTL_SHARDS",
        "CI_NODE_INDEX",
        "CI_NODE_TOTAL",
        "PARALLEL_SEQ",
    ] {
        c.env_remove(v);
    }
    c
}

fn path() -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_labctl")).parent().unwrap();
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// `labctl merge-grades` of the four shards in `results`, compared with `single`.
fn merged_equals(work: &Path, results: &Path, single: &[u8]) {
    let merged = work.join("merged.csv");
    let o = labctl()
        .arg("merge-grades")
        .args(shard_files(results))
        .arg("--gradebook")
        .arg(&merged)
        .output()
        .unwrap();
    assert_exit(&o, 0);
    assert_same(&std::fs::read(&merged).unwrap(), single);
}

fn assert_same(merged: &[u8], single: &[u8]) {
    assert!(
        merged == single,
        "merged:\n{}\nsingle:\n{}",
        text(merged),
        text(single)
    );
}

/// A single-node Slurm cluster living in a scratch directory and a network namespace of its
/// own; dropping it kills every process in that namespace.
struct Cluster {
    ns: Netns,
    daemons: Vec<(&'static str, Child)>,
    dir: PathBuf,
    conf: PathBuf,
}

impl Cluster {
    fn start(dir: &Path) -> Cluster {
        let tools = [
            ("mungekey", "munge"),
            ("munged", "munge"),
            ("munge", "munge"),
            ("slurmctld", "slurmctld"),
            ("slurmd", "slurmd"),
            ("sinfo", "slurm-client"),
            ("sbatch", "slurm-client"),
        ]
        .map(|(p, pkg)| require(p, pkg));
        let [mungekey, munged, munge, slurmctld, slurmd, sinfo, _] = &tools;
        let ns = Netns::root();
        ns.ok("ip", &["link", "set", "lo", "up"]);
        // Slurm resolves 127.0.0.1 with AI_ADDRCONFIG, which ignores 127.0.0.1 and so finds
        // no IPv4 at all: a second address on loopback, from a documentation range, gives it
        // one to see.
        ns.ok("ip", &["addr", "add", "192.0.2.1/32", "dev", "lo"]);
        let mut cluster = Cluster {
            ns,
            daemons: Vec::new(),
            dir: dir.to_path_buf(),
            conf: dir.join("slurm.conf"),
        };
        // munged refuses a socket directory that not everyone may enter, and a key anyone
        // else may read.
        let mode = |p: &Path, m: u32| {
            std::fs::create_dir_all(p).unwrap();
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
        };
        mode(dir, 0o755);
        for (d, m) in [("run", 0o755), ("munge", 0o700), ("state", 0o755)] {
            mode(&dir.join(d), m);
        }
        for d in ["spool", "log"] {
            mode(&dir.join(d), 0o755);
        }
        let key = dir.join("munge/munge.key");
        let o = Command::new(mungekey)
            .arg("--create")
            .arg("--keyfile")
            .arg(&key)
            .output()
            .unwrap();
        assert!(o.status.success(), "mungekey: {}", described(&o));
        let socket = dir.join("run/munge.sock");
        let arg = |flag: &str, p: &str| format!("--{flag}={}", dir.join(p).display());
        cluster.daemon(
            "munged",
            munged,
            &[
                "--foreground".to_string(),
                arg("key-file", "munge/munge.key"),
                arg("socket", "run/munge.sock"),
                arg("pid-file", "run/munged.pid"),
                arg("log-file", "log/munged.log"),
                arg("seed-file", "munge/munged.seed"),
            ],
        );
        cluster.until("munged answers", |_| {
            Command::new(munge)
                .arg("--no-input")
                .arg("--socket")
                .arg(&socket)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        });

        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        let host = host.trim().split('.').next().unwrap().to_string();
        std::fs::write(&cluster.conf, slurm_conf(dir, &host)).unwrap();
        let conf = cluster.conf.display().to_string();
        cluster.daemon(
            "slurmctld",
            slurmctld,
            &["-D".into(), "-f".into(), conf.clone()],
        );
        cluster.daemon(
            "slurmd",
            slurmd,
            &["-D".into(), "-f".into(), conf, "-N".into(), host],
        );
        cluster.until("the node is idle", |cluster| {
            let o = cluster
                .command(sinfo)
                .args(["-h", "-N", "-o", "%T"])
                .output();
            o.is_ok_and(|o| text(&o.stdout).trim() == "idle")
        });
        // The daemons listen on any address, but of a namespace whose only interface is
        // loopback.
        let links = cluster.ns.ok("ip", &["-o", "link"]);
        assert_eq!(links.lines().count(), 1, "{links}");
        assert!(links.contains(": lo:"), "{links}");
        cluster
    }

    /// Starts `program` in the cluster's namespace, its output in `log/NAME.out`.
    fn daemon(&mut self, name: &'static str, program: &Path, args: &[String]) {
        let out = File::create(self.dir.join(format!("log/{name}.out"))).unwrap();
        let child = self
            .command(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        self.daemons.push((name, child));
    }

    /// `program` run in the cluster's namespace with its `slurm.conf`.
    fn command(&self, program: &Path) -> Command {
        let mut c = self.ns.command(program.to_str().unwrap());
        c.env("SLURM_CONF", &self.conf);
        c
    }

    /// Polls `ready` until it holds; fails with the daemons' logs when a daemon died or a
    /// minute passed.
    fn until(&mut self, what: &str, ready: impl Fn(&Cluster) -> bool) {
        let start = Instant::now();
        while !ready(self) {
            let ended = self
                .daemons
                .iter_mut()
                .find_map(|(name, child)| Some((*name, child.try_wait().ok()??)));
            if let Some((name, status)) = ended {
                panic!("{name} ended ({status}) before {what}:\n{}", self.logs());
            }
            if start.elapsed() > Duration::from_secs(60) {
                panic!("{what}: not within a minute:\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Every log of the cluster and every job output, for a failure message.
    fn logs(&self) -> String {
        let mut out = String::new();
        for d in [self.dir.join("log"), self.dir.join("work")] {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            let mut paths: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
            paths.sort();
            for p in paths.iter().filter(|p| p.is_file()) {
                let body = std::fs::read_to_string(p).unwrap_or_default();
                out += &format!("--- {}\n{body}\n", p.display());
            }
        }
        out
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Asked to stop first, so slurmctld reaps its own helpers; killed after 10 s.
        for (_, child) in self.daemons.iter_mut().rev() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let start = Instant::now();
            while child.try_wait().is_ok_and(|s| s.is_none())
                && start.elapsed() < Duration::from_secs(10)
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        // Job steps that outlived their slurmd: everything left in the namespace but the
        // process that holds it.
        let holder = self.ns.pid();
        let Ok(net) = std::fs::read_link(format!("/proc/{holder}/ns/net")) else {
            return;
        };
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let pid = e.file_name().to_string_lossy().into_owned();
            if pid.parse::<u32>().is_err() || pid == holder {
                continue;
            }
            if std::fs::read_link(format!("/proc/{pid}/ns/net")).is_ok_and(|l| l == net) {
                let _ = Command::new("kill").args(["-KILL", &pid]).status();
            }
        }
    }
}

/// The least `slurm.conf` for one node that is also the controller, every path in `dir` (none
/// of the packaged defaults under /var or /run), authenticated by the test's own munged.
fn slurm_conf(dir: &Path, host: &str) -> String {
    let d = dir.display();
    format!(
        "ClusterName=labctl\n\
         SlurmctldHost={host}(127.0.0.1)\n\
         SlurmUser=root\n\
         SlurmdUser=root\n\
         AuthType=auth/munge\n\
         CredType=cred/munge\n\
         AuthInfo=socket={d}/run/munge.sock\n\
         StateSaveLocation={d}/state\n\
         SlurmdSpoolDir={d}/spool\n\
         SlurmctldPidFile={d}/run/slurmctld.pid\n\
         SlurmdPidFile={d}/run/slurmd.pid\n\
         SlurmctldLogFile={d}/log/slurmctld.log\n\
         SlurmdLogFile={d}/log/slurmd.log\n\
         MailProg=/bin/true\n\
         ProctrackType=proctrack/linuxproc\n\
         TaskPlugin=task/none\n\
         JobAcctGatherType=jobacct_gather/none\n\
         AccountingStorageType=accounting_storage/none\n\
         JobCompType=jobcomp/none\n\
         MpiDefault=none\n\
         SelectType=select/cons_tres\n\
         SelectTypeParameters=CR_CPU\n\
         SlurmdParameters=config_overrides\n\
         ReturnToService=2\n\
         NodeName={host} NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN\n\
         PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP\n"
    )
}

#[test]
fn the_readme_slurm_script_as_an_array_of_four_merges_into_the_one_machine_gradebook() {
    let (script, note) = shown("docs/slurm/grade.sbatch", "sh");
    assert!(script.contains("--shard auto"), "{script}");
    assert!(note.contains("user.max_user_namespaces"), "{note}");
    let dir = scratch("slurm");
    let work = dir.join("work");
    let single = class_graded_alone(&work);

    let cluster = Cluster::start(&dir);
    let sbatch = require("sbatch", "slurm-client");
    let mut submit = cluster.command(&sbatch);
    submit
        .args(["--array=0-3", "--wait"])
        .arg(root().join("docs/slurm/grade.sbatch"))
        .current_dir(&work)
        .env("PATH", path());
    for v in [
        "JOB_COMPLETION_INDEX",
        "LABCTL_SHARDS",
        "CI_NODE_INDEX",
        "PARALLEL_SEQ",
    ] {
        submit.env_remove(v);
    }
    let o = run(submit, None, Duration::from_secs(300));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}\n{}",
        described(&o),
        cluster.logs()
    );
    assert!(
        text(&o.stdout).starts_with("Submitted batch job "),
        "{}",
        described(&o)
    );
    merged_equals(&dir, &work.join("results"), &single);
}

#[test]
fn the_readme_kubernetes_indexed_job_run_for_each_index_merges_into_the_one_machine_gradebook() {
    let job = readme_yaml("docs/kubernetes/grade-job.yaml", "privileged: true");
    assert_eq!(job["apiVersion"], "batch/v1");
    assert_eq!(job["kind"], "Job");
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    assert_eq!(spec["completions"], 4);
    let pod = &spec["template"]["spec"];
    assert!(
        matches!(pod["restartPolicy"].as_str(), Some("Never" | "OnFailure")),
        "a Job's pods must not restart Always: {pod}"
    );
    let containers = pod["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1, "{pod}");
    let c = &containers[0];
    assert_eq!(c["securityContext"]["privileged"], true, "{c}");
    let env = c["env"].as_array().unwrap();
    let shards: Vec<&Value> = env
        .iter()
        .filter(|e| e["name"] == "LABCTL_SHARDS")
        .map(|e| &e["value"])
        .collect();
    assert_eq!(
        shards,
        [&Value::from("4")],
        "LABCTL_SHARDS equals completions"
    );
    let command = kit::strings(&c["command"]);
    let ["sh", "-c", line] = command[..] else {
        panic!("the container's command is not sh -c LINE: {command:?}");
    };
    assert!(line.contains("--shard auto"), "{line}");

    // Each completion index as Kubernetes runs it, the volumes /class and /results mounted
    // from the scratch directory.
    let dir = scratch("k8s");
    let single = class_graded_alone(&dir);
    let line = line
        .replace(" /class/", &format!(" {}/class/", dir.display()))
        .replace(" /results", &format!(" {}/results", dir.display()));
    for index in 0..4 {
        let o = shell(&dir, &line)
            .env("JOB_COMPLETION_INDEX", index.to_string())
            .env("LABCTL_SHARDS", "4")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "index {index}: {}", described(&o));
    }
    merged_equals(&dir, &dir.join("results"), &single);
}

#[test]
fn the_readme_github_actions_matrix_run_for_each_shard_merges_into_the_one_machine_gradebook() {
    let flow = readme_yaml("docs/github-actions/grade.yml", "sudo");
    assert!(flow.get("on").is_some(), "a workflow needs `on`: {flow}");
    let grade = &flow["jobs"]["grade"];
    let matrix: Vec<u64> = grade["strategy"]["matrix"]["shard"]
        .as_array()
        .unwrap_or_else(|| panic!("no matrix of shards: {grade}"))
        .iter()
        .map(|s| s.as_u64().unwrap())
        .collect();
    assert_eq!(matrix, [0, 1, 2, 3]);
    let runs = |job: &Value| -> Vec<String> {
        job["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["run"].as_str().map(str::to_string))
            .collect()
    };
    let [step] = &runs(grade)[..] else {
        panic!("the grade job has not one run step: {grade}");
    };
    assert!(
        step.contains("--shard ${{ matrix.shard }}/4"),
        "the shard of 4 comes from the matrix: {step}"
    );
    let merge = &flow["jobs"]["merge"];
    assert_eq!(merge["needs"], "grade");
    let [merge_step] = &runs(merge)[..] else {
        panic!("the merge job has not one run step: {merge}");
    };

    // Each matrix entry as the runner runs it: in the checkout (here the scratch directory),
    // as root, which this test already is.
    let dir = scratch("actions");
    let single = class_graded_alone(&dir);
    let step = step.strip_prefix("sudo ").unwrap_or(step);
    for shard in matrix {
        let line = step.replace("${{ matrix.shard }}", &shard.to_string());
        let o = shell(&dir, &line).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "shard {shard}: {}", described(&o));
    }
    shard_files(&dir.join("results"));
    let o = shell(&dir, merge_step).output().unwrap();
    assert_exit(&o, 0);
    assert_same(&std::fs::read(dir.join("grades.csv")).unwrap(), &single);
}
