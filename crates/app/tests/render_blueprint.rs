//! The deployment files against the configuration's own list of variables
//! (`bma_app::config::VARIABLES`): the list names every variable the config reads, each service of
//! `render.yaml` carries every variable its role needs, and no file names a variable the binary
//! never reads. A blueprint that forgot `WHATSAPP_APP_SECRET` once answered WhatsApp with 503.
//!
//! `render.yaml` is read line by line in the shape it has (services with `dockerCommand` and
//! `envVars`, `envVarGroups` pulled in with `fromGroup`); a shape this reader does not know fails
//! the tests instead of passing them empty.

use bma_app::config::{Config, Process, ReadBy, Source, Strictness, VARIABLES, variable};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};

fn repo_file(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(name);
    std::fs::read_to_string(&path).expect("the file is at the repository's root")
}

/// How one variable gets its value in the blueprint.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Given {
    /// Written in the file.
    Value,
    /// Asked for, generated, or taken from another Render service: never in the file.
    Kept,
}

#[derive(Debug, Default)]
struct Service {
    name: String,
    command: Option<String>,
    vars: BTreeMap<String, Given>,
    groups: Vec<String>,
}

#[derive(Debug, Default)]
struct Blueprint {
    services: Vec<Service>,
    groups: BTreeMap<String, BTreeMap<String, Given>>,
}

impl Blueprint {
    fn parse(text: &str) -> Self {
        #[derive(PartialEq)]
        enum Section {
            Services,
            Groups,
            Other,
        }
        let mut bp = Blueprint::default();
        let mut section = Section::Other;
        let mut group: Option<String> = None;
        let mut last_key: Option<String> = None;
        for raw in text.lines() {
            let line = raw.split(" #").next().unwrap_or(raw).trim_end();
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            assert!(
                !(trimmed.contains(": &") || trimmed.contains(": *") || trimmed.starts_with("<<:")),
                "render.yaml uses a YAML anchor or alias, which this reader does not follow \
                 (share variables with envVarGroups instead): {trimmed}"
            );
            let indent = line.len() - trimmed.len();
            if indent == 0 {
                section = match trimmed {
                    "services:" => Section::Services,
                    "envVarGroups:" => Section::Groups,
                    _ => Section::Other,
                };
                last_key = None;
                continue;
            }
            let item = trimmed.strip_prefix("- ");
            let field =
                |name: &str| item.unwrap_or(trimmed).strip_prefix(name).map(|v| v.trim().trim_matches('"').to_owned());
            if indent == 2 && item.is_some() {
                last_key = None;
                match section {
                    Section::Services => bp.services.push(Service::default()),
                    Section::Groups => group = field("name:"),
                    Section::Other => {}
                }
            }
            let vars = match section {
                Section::Services => bp.services.last_mut().map(|s| &mut s.vars),
                Section::Groups => group.clone().map(|g| bp.groups.entry(g).or_default()),
                Section::Other => None,
            };
            let Some(vars) = vars else { continue };
            if let Some(key) = field("key:").filter(|_| item.is_some()) {
                vars.insert(key.clone(), Given::Kept);
                last_key = Some(key);
            } else if let (Some(key), Some(_)) = (&last_key, field("value:")) {
                vars.insert(key.clone(), Given::Value);
            }
            if section == Section::Services
                && let Some(s) = bp.services.last_mut()
            {
                if indent == 4 || (indent == 2 && item.is_some()) {
                    if let Some(name) = field("name:") {
                        s.name = name;
                    }
                    if let Some(c) = field("dockerCommand:") {
                        s.command = Some(c);
                    }
                }
                if let Some(g) = field("fromGroup:").filter(|_| item.is_some()) {
                    s.groups.push(g);
                    last_key = None;
                }
            }
        }
        bp
    }

    /// The service that runs `bma-social <role>`.
    fn service(&self, role: &str) -> &Service {
        let command = format!("bma-social {role}");
        let found: Vec<&Service> = self.services.iter().filter(|s| s.command.as_deref() == Some(&command)).collect();
        assert_eq!(found.len(), 1, "render.yaml has one service running `{command}`; found {}", found.len());
        found[0]
    }

    /// Every variable a service receives: its own and its groups'.
    fn carried(&self, s: &Service) -> BTreeMap<String, Given> {
        let mut all = s.vars.clone();
        for g in &s.groups {
            let group = self.groups.get(g).unwrap_or_else(|| panic!("{} uses group {g}, which is not defined", s.name));
            all.extend(group.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        all
    }

    fn every_name(&self) -> BTreeSet<String> {
        self.services
            .iter()
            .flat_map(|s| s.vars.keys())
            .chain(self.groups.values().flat_map(|g| g.keys()))
            .cloned()
            .collect()
    }
}

fn blueprint() -> Blueprint {
    Blueprint::parse(&repo_file("render.yaml"))
}

const ROLES: [(Process, &str); 3] =
    [(Process::Serve, "serve"), (Process::Worker, "worker"), (Process::Scheduler, "scheduler")];

/// A source that remembers every name the config asks it for.
struct Recording {
    env: HashMap<&'static str, &'static str>,
    asked: RefCell<BTreeSet<String>>,
}

impl Source for Recording {
    fn get(&self, name: &str) -> Option<String> {
        self.asked.borrow_mut().insert(name.to_owned());
        self.env.get(name).map(|v| (*v).to_owned())
    }
}

#[test]
fn the_list_names_every_variable_the_config_reads() {
    let source = Recording {
        env: HashMap::from([
            ("JWT_SECRET_KEY", "0123456789abcdef0123456789abcdef"),
            ("DATA_ENCRYPTION_KEY", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
            // With a mail server set, the SMTP settings are read too.
            ("SMTP_HOST", "smtp.example.com"),
        ]),
        asked: RefCell::new(BTreeSet::new()),
    };
    Config::from_source(&source, Strictness::Production).expect("a complete environment is accepted");
    let asked = source.asked.into_inner();
    assert!(asked.len() > 40, "the recording source saw the config's reads ({} names)", asked.len());
    let unlisted: Vec<&String> = asked.iter().filter(|n| variable(n).is_none()).collect();
    assert!(unlisted.is_empty(), "config reads variables missing from config::VARIABLES: {unlisted:?}");
    let elsewhere: Vec<&String> =
        asked.iter().filter(|n| variable(n).is_some_and(|v| v.read_by != ReadBy::Config)).collect();
    assert!(elsewhere.is_empty(), "config reads variables the list says are read elsewhere: {elsewhere:?}");
}

#[test]
fn the_list_names_each_variable_once() {
    let mut seen = BTreeSet::new();
    let twice: Vec<&str> = VARIABLES.iter().map(|v| v.name).filter(|n| !seen.insert(*n)).collect();
    assert!(twice.is_empty(), "listed more than once: {twice:?}");
}

#[test]
fn the_blueprint_has_a_service_for_each_role() {
    let bp = blueprint();
    for (_, role) in ROLES {
        let s = bp.service(role);
        assert!(!bp.carried(s).is_empty(), "the {role} service ({}) carries variables", s.name);
    }
}

#[test]
fn each_service_carries_every_variable_its_role_needs() {
    let bp = blueprint();
    let mut missing = Vec::new();
    for (process, role) in ROLES {
        let carried = bp.carried(bp.service(role));
        for v in VARIABLES.iter().filter(|v| v.needed_by.contains(&process)) {
            if !carried.contains_key(v.name) {
                missing.push(format!("{role}: {}", v.name));
            }
        }
    }
    assert!(missing.is_empty(), "render.yaml lacks variables a role needs: {missing:?}");
}

#[test]
fn the_blueprint_names_only_variables_the_binary_reads() {
    let unknown: Vec<String> = blueprint().every_name().into_iter().filter(|n| variable(n).is_none()).collect();
    assert!(unknown.is_empty(), "render.yaml sets variables nothing reads: {unknown:?}");
}

#[test]
fn no_secret_is_written_in_the_blueprint() {
    let bp = blueprint();
    let mut written = Vec::new();
    for s in &bp.services {
        for (name, given) in bp.carried(s) {
            if given == Given::Value && variable(&name).is_some_and(|v| v.secret) {
                written.push(format!("{}: {name}", s.name));
            }
        }
    }
    assert!(written.is_empty(), "secrets written into render.yaml (use sync: false): {written:?}");
}

#[test]
fn the_reader_sees_a_written_secret_and_a_missing_variable() {
    let bp = Blueprint::parse(
        "services:\n  - type: web\n    name: api\n    dockerCommand: bma-social serve\n    envVars:\n      \
         - key: JWT_SECRET_KEY\n        value: in-the-file\n      - fromGroup: g\n\
         envVarGroups:\n  - name: g\n    envVars:\n      - key: SMTP_PASSWORD\n        sync: false\n",
    );
    let carried = bp.carried(bp.service("serve"));
    assert_eq!(carried.get("JWT_SECRET_KEY"), Some(&Given::Value));
    assert_eq!(carried.get("SMTP_PASSWORD"), Some(&Given::Kept));
    assert!(!carried.contains_key("DATABASE_URL"), "an absent variable is not invented");
}

#[test]
#[should_panic(expected = "YAML anchor or alias")]
fn the_reader_refuses_anchors_it_cannot_follow() {
    Blueprint::parse("services:\n  - type: worker\n    dockerCommand: bma-social worker\n    envVars: *env\n");
}

#[test]
fn env_example_names_only_listed_variables_and_every_needed_one() {
    let text = repo_file(".env.example");
    let named: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.trim_start_matches('#').trim_start().split_once('='))
        .map(|(name, _)| name.trim())
        .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
        .collect();
    let unknown: Vec<&&str> = named.iter().filter(|n| variable(n).is_none()).collect();
    assert!(unknown.is_empty(), ".env.example names variables nothing reads: {unknown:?}");
    let absent: Vec<&str> =
        VARIABLES.iter().filter(|v| !v.needed_by.is_empty() && !named.contains(v.name)).map(|v| v.name).collect();
    assert!(absent.is_empty(), ".env.example lacks variables a deployment needs: {absent:?}");
}

#[test]
fn the_readme_documents_every_listed_variable() {
    let readme = repo_file("README.md");
    let undocumented: Vec<&str> =
        VARIABLES.iter().map(|v| v.name).filter(|n| !readme.contains(&format!("`{n}`"))).collect();
    assert!(undocumented.is_empty(), "README.md's configuration table lacks: {undocumented:?}");
}

#[test]
fn the_readme_and_the_architecture_link_only_to_files_in_the_repository() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = root.canonicalize().expect("the repository root exists");
    let mut bad = Vec::new();
    let mut links = 0;
    for doc in ["README.md", "docs/ARCHITECTURE.md"] {
        let text = repo_file(doc);
        let dir = root.join(doc).parent().map(std::path::Path::to_path_buf).expect("a file has a folder");
        for (i, _) in text.match_indices("](") {
            let rest = &text[i + 2..];
            let target = rest.split(')').next().unwrap_or(rest).split('#').next().unwrap_or(rest);
            links += 1;
            let inside = !target.contains("://")
                && !target.starts_with('/')
                && dir.join(target).canonicalize().is_ok_and(|p| p.starts_with(&root));
            if !inside {
                bad.push(format!("{doc}: {target}"));
            }
        }
    }
    assert!(links >= 5, "the reader found the documents' links ({links})");
    assert!(bad.is_empty(), "links that leave the repository or point at nothing: {bad:?}");
}
