//! A whole deployment on one machine, driven through the real binaries the
//! way the README walkthrough does it: a store process, a flaky proxy in
//! front of it (the hospital network), an administrator (`sealcam admin`),
//! records teams (recipient + staff keys) and enrolled devices.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::cli::{run, sealcam, text};
use crate::proxy::{addr_of, FlakyProxy};
use crate::store::StoreProcess;

/// Fails the test with the command's stderr when it did not succeed.
pub fn ok(o: &Output, what: &str) {
    assert!(
        o.status.success(),
        "{what} failed ({}):\n{}",
        o.status,
        text(&o.stderr)
    );
}

/// A records team: its recipient identity and a staff member's auth key.
pub struct Team {
    /// The recipient identity file.
    pub identity: PathBuf,
    /// The recipient string.
    pub recipient: String,
    /// The staff auth key file.
    pub staff_key: PathBuf,
}

/// The deployment.
pub struct Deployment {
    /// The store process.
    pub store: StoreProcess,
    /// The proxy every client goes through.
    pub proxy: FlakyProxy,
    /// Working directory (keys, homes, output).
    pub dir: tempfile::TempDir,
    /// The organisation's public key string.
    pub org: String,
    /// The records teams in the directory.
    pub teams: Vec<Team>,
}

impl Deployment {
    /// A bootstrapped store with `teams` records teams in a published
    /// directory, each with one registered staff member.
    pub fn new(teams: usize) -> Deployment {
        Self::with_store(StoreProcess::start(), teams)
    }

    /// The same, around a store started by the caller (its own config).
    pub fn with_store(store: StoreProcess, teams: usize) -> Deployment {
        let proxy = FlakyProxy::start(addr_of(&store.url), 0x5ea1_ca11);
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let org_key = d.join("org.key");
        let o = run(
            sealcam()
                .args(["keygen", "--kind", "org", "-o"])
                .arg(&org_key),
            None,
        );
        ok(&o, "keygen --kind org");
        let org = text(&o.stdout).trim().to_owned();
        let code = store
            .bootstrap_code
            .clone()
            .expect("a fresh store prints a bootstrap code");
        let mut dep = Deployment {
            store,
            proxy,
            dir,
            org,
            teams: Vec::new(),
        };
        // The code on standard input, as the README does it.
        let o = run(
            sealcam()
                .arg("admin")
                .arg("--admin-home")
                .arg(dep.dir.path().join("admin"))
                .args(["bootstrap", "--store", &dep.proxy.url(), "--pin"])
                .arg(&dep.store.tls_pin)
                .args(["--code", "-", "--org-key"])
                .arg(&org_key),
            Some(code.as_bytes()),
        );
        ok(&o, "admin bootstrap");
        for i in 0..teams {
            dep.add_team(&format!("team{i}"));
        }
        if teams > 0 {
            ok(&dep.admin(&["directory", "publish"]), "directory publish");
        }
        dep
    }

    /// Adds a records team to the draft directory and registers its staff
    /// member (publish separately).
    pub fn add_team(&mut self, name: &str) {
        let d = self.dir.path();
        let identity = d.join(format!("{name}.key"));
        let o = run(sealcam().arg("keygen").arg("-o").arg(&identity), None);
        ok(&o, "keygen");
        let recipient = text(&o.stdout).trim().to_owned();
        let staff_key = d.join(format!("{name}-staff.key"));
        let o = run(
            sealcam()
                .args(["keygen", "--kind", "staff", "-o"])
                .arg(&staff_key),
            None,
        );
        ok(&o, "keygen --kind staff");
        let staff_pub = text(&o.stdout).trim().to_owned();
        ok(
            &self.admin(&[
                "directory",
                "add",
                &recipient,
                "--name",
                &format!("{name} records"),
            ]),
            "directory add",
        );
        ok(
            &self.admin(&[
                "staff",
                "add",
                "--name",
                &format!("{name} clerk"),
                "--recipient",
                &recipient,
                "--auth-key",
                &staff_pub,
            ]),
            "staff add",
        );
        self.teams.push(Team {
            identity,
            recipient,
            staff_key,
        });
    }

    /// `sealcam admin --admin-home <dir>/admin ARGS…`.
    pub fn admin(&self, args: &[&str]) -> Output {
        run(
            sealcam()
                .arg("admin")
                .arg("--admin-home")
                .arg(self.dir.path().join("admin"))
                .args(args),
            None,
        )
    }

    /// A new enrolment code for Dr Jane Doe (GMC 7654321): the payload line.
    pub fn enrolment_payload(&self) -> String {
        let o = self.admin(&[
            "enrol",
            "create",
            "--name",
            "Dr Jane Doe",
            "--registration-body",
            "GMC",
            "--registration-number",
            "7654321",
            "--no-qr",
        ]);
        ok(&o, "enrol create");
        text(&o.stdout)
            .lines()
            .find(|l| l.starts_with("sealcam-enrol:"))
            .expect("enrol create prints the payload")
            .to_owned()
    }

    /// Enrols and approves a new device; returns its home directory.
    pub fn enrol_device(&self, name: &str) -> PathBuf {
        let payload = self.enrolment_payload();
        let home = self.dir.path().join(name);
        let o = run(
            sealcam()
                .args(["device", "enroll", "-", "--home"])
                .arg(&home),
            Some(payload.as_bytes()),
        );
        ok(&o, "device enroll");
        ok(
            &self.admin(&["devices", "approve", "--all"]),
            "devices approve",
        );
        let o = run(
            sealcam().args(["device", "status", "--home"]).arg(&home),
            None,
        );
        ok(&o, "device status");
        assert!(
            text(&o.stdout).contains("approved: yes"),
            "{}",
            text(&o.stdout)
        );
        home
    }

    /// `sealcam records pull` as team `i` into `out`.
    pub fn pull(&self, i: usize, out: &Path) -> Output {
        let t = &self.teams[i];
        run(
            sealcam()
                .args(["records", "pull", "--no-progress", "-i"])
                .arg(&t.identity)
                .args(["--store", &self.proxy.url(), "--pin", &self.store.tls_pin])
                .arg("--auth-key")
                .arg(&t.staff_key)
                .args(["--org", &self.org])
                .arg("-o")
                .arg(out),
            None,
        )
    }

    /// Kills the store (SIGKILL), restarts it on its data dir and points
    /// the proxy at its new port.
    pub fn restart_store(&mut self) {
        self.store.restart();
        self.proxy.set_upstream(addr_of(&self.store.url));
    }

    /// The ids of the envelopes the store holds, from its catalog.
    pub fn stored_ids(&self) -> Vec<String> {
        let db = rusqlite::Connection::open_with_flags(
            self.store.data_dir().join("catalog.sqlite"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("open the catalog");
        let mut q = db
            .prepare("SELECT envelope_id FROM envelopes ORDER BY envelope_id")
            .expect("query");
        let ids = q
            .query_map([], |r| r.get::<_, String>(0))
            .expect("rows")
            .collect::<Result<Vec<_>, _>>()
            .expect("ids");
        ids
    }
}

/// The record flags for a fictional patient (valid NHS number 943 476 5919).
pub const RECORD_FLAGS: &[&str] = &[
    "--nhs",
    "943 476 5919",
    "--name",
    "Test Patient",
    "--dob",
    "1970-01-01",
    "--site",
    "left forearm",
    "--consent",
    "care",
    "--consent-method",
    "verbal",
    "--consent-by",
    "patient",
];
