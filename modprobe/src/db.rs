//! [`ModuleDb`]: everything the `modules.*` files of one or more module directories say,
//! keyed by canonical module name, plus name resolution (module name → alias → built-in).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};

use crate::error::ModprobeError;
use crate::glob::fnmatch;
use crate::name::{canonical_key, canonical_name, normalize_alias};
use crate::parse::{self, MAX_FILE_SIZE};

/// A module known from `modules.dep`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// Canonical name.
    pub name: String,
    /// Path of the `.ko` file (relative `modules.dep` paths are joined to their directory).
    pub path: PathBuf,
    /// Canonical names of its hard dependencies, in `modules.dep` order (load in reverse).
    pub deps: Vec<String>,
    /// False if the module only appears as somebody's dependency and has no line of its
    /// own; it is then treated as having no dependencies (as kmod does).
    pub listed: bool,
}

/// The soft dependencies of one `modules.softdep` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoftDep {
    /// Names to load before the module (module names or aliases, as written).
    pub pre: Vec<String>,
    /// Names to load after the module.
    pub post: Vec<String>,
    /// Where the line is (`file:line`).
    pub location: String,
}

/// What a requested name stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// One or more modules (a module name, or every module an alias matches).
    Modules(Vec<String>),
    /// A module compiled into the kernel (`modules.builtin`): nothing to load.
    Builtin(String),
    /// Neither a module, an alias nor a built-in.
    NotFound,
}

#[derive(Debug, Clone)]
struct Alias {
    /// Normalised pattern (kmod `alias_normalize`).
    pattern: String,
    /// Length of the pattern's literal prefix (before any glob metacharacter): a cheap
    /// filter before running the matcher.
    literal: usize,
    module: String,
}

/// Where a directory's files come from: the file's bytes, `None` for a missing file.
type Reader<'r> = dyn Fn(&Path) -> Result<Option<Vec<u8>>, ModprobeError> + 'r;

/// The merged contents of the `modules.*` files of one or more module directories.
#[derive(Debug, Clone, Default)]
pub struct ModuleDb {
    dirs: Vec<PathBuf>,
    modules: BTreeMap<String, Module>,
    aliases: Vec<Alias>,
    softdeps: BTreeMap<String, Vec<SoftDep>>,
    options: BTreeMap<String, (String, String)>,
    blocklist: HashSet<String>,
    builtin: HashSet<String>,
    warnings: Vec<String>,
}

impl ModuleDb {
    /// Reads the module directory `dir`: `modules.dep` (required), and `modules.alias`,
    /// `modules.softdep`, `modules.options`, `modules.blocklist`, `modules.builtin` when
    /// they exist.
    ///
    /// As AOSP's `libmodprobe` reads them, a bad line is reported in
    /// [`ModuleDb::warnings`] (`file:line: what; line skipped`) and every other line
    /// counts; an optional file that cannot be read is reported and skipped. Errors: no
    /// readable `modules.dep` of at most [`MAX_FILE_SIZE`] bytes.
    pub fn load(dir: &Path) -> Result<ModuleDb, ModprobeError> {
        Self::load_dirs(&[dir.to_path_buf()])
    }

    /// Reads several module directories (AOSP `modprobe -d DIR -d DIR…`), in order.
    ///
    /// A module listed in a later directory's `modules.dep` replaces an earlier one;
    /// aliases, soft dependencies, blocklists and built-ins accumulate; of two `options`
    /// lines for one module the first is kept, even in different directories (as in
    /// AOSP), and the second reported.
    pub fn load_dirs(dirs: &[PathBuf]) -> Result<ModuleDb, ModprobeError> {
        if dirs.is_empty() {
            return Err(ModprobeError::NoDirectories);
        }
        let mut db = ModuleDb {
            dirs: dirs.to_vec(),
            ..ModuleDb::default()
        };
        for dir in dirs {
            db.add_dir(dir, &read_optional)?;
        }
        Ok(db)
    }

    /// [`ModuleDb::load`] of a directory whose files are given as (file name, contents)
    /// instead of read: what tests and fuzzing use to skip the filesystem. A file not
    /// given is a missing file.
    pub fn from_contents(dir: &Path, files: &[(&str, &[u8])]) -> Result<ModuleDb, ModprobeError> {
        let mut db = ModuleDb {
            dirs: vec![dir.to_path_buf()],
            ..ModuleDb::default()
        };
        let given = |path: &Path| -> Result<Option<Vec<u8>>, ModprobeError> {
            Ok(files
                .iter()
                .find(|(name, _)| path.file_name() == Some(std::ffi::OsStr::new(name)))
                .map(|(_, bytes)| bytes.to_vec()))
        };
        db.add_dir(dir, &given)?;
        Ok(db)
    }

    fn add_dir(&mut self, dir: &Path, read: &Reader<'_>) -> Result<(), ModprobeError> {
        let dep_path = dir.join("modules.dep");
        let Some(bytes) = read(&dep_path)? else {
            return Err(ModprobeError::MissingModulesDep {
                dir: dir.to_path_buf(),
            });
        };
        self.add_deps(dir, &dep_path, &bytes);
        self.with_optional(dir, read, "modules.alias", Self::add_aliases);
        self.with_optional(dir, read, "modules.softdep", Self::add_softdeps);
        self.with_optional(dir, read, "modules.options", Self::add_options);
        self.with_optional(dir, read, "modules.blocklist", |db, path, bytes| {
            let parsed = parse::parse_blocklist(path, bytes);
            db.note_problems(path, &parsed);
            db.blocklist
                .extend(parsed.entries.into_iter().map(|e| e.module));
        });
        self.with_optional(dir, read, "modules.builtin", |db, path, bytes| {
            let parsed = parse::parse_builtin(path, bytes);
            db.note_problems(path, &parsed);
            db.builtin.extend(parsed.entries);
        });
        Ok(())
    }

    /// Reads an optional file and hands its bytes to `add`; a missing file is nothing, an
    /// unreadable one a warning.
    fn with_optional(
        &mut self,
        dir: &Path,
        read: &Reader<'_>,
        file: &str,
        add: impl FnOnce(&mut Self, &Path, &[u8]),
    ) {
        let path = dir.join(file);
        match read(&path) {
            Ok(Some(bytes)) => add(self, &path, &bytes),
            Ok(None) => {}
            Err(e) => self.warnings.push(format!("{e}; file skipped")),
        }
    }

    fn note_problems<T>(&mut self, path: &Path, parsed: &parse::Parsed<T>) {
        self.warnings.extend(parsed.problem_lines(path));
    }

    fn add_deps(&mut self, dir: &Path, path: &Path, bytes: &[u8]) {
        let resolve = |p: &str| -> PathBuf {
            if p.starts_with('/') {
                PathBuf::from(p)
            } else {
                dir.join(p)
            }
        };
        let parsed = parse::parse_dep(path, bytes);
        self.note_problems(path, &parsed);
        let mut lines: HashMap<String, usize> = HashMap::new();
        for entry in parsed.entries {
            if let Some(first) = lines.insert(entry.name.clone(), entry.line) {
                self.warnings.push(format!(
                    "{}:{}: module {} already listed at line {first}; this line replaces it",
                    path.display(),
                    entry.line,
                    entry.name
                ));
            }
            let mut deps = Vec::with_capacity(entry.deps.len());
            for dep in &entry.deps {
                let name = canonical_name(dep);
                // A dependency without a line of its own is a leaf at the path given here,
                // unless (or until) its own line says otherwise.
                self.modules.entry(name.clone()).or_insert_with(|| Module {
                    name: name.clone(),
                    path: resolve(dep),
                    deps: Vec::new(),
                    listed: false,
                });
                deps.push(name);
            }
            self.modules.insert(
                entry.name.clone(),
                Module {
                    name: entry.name,
                    path: resolve(&entry.path),
                    deps,
                    listed: true,
                },
            );
        }
    }

    fn add_aliases(&mut self, path: &Path, bytes: &[u8]) {
        let parsed = parse::parse_alias(path, bytes);
        self.note_problems(path, &parsed);
        for entry in parsed.entries {
            match normalize_alias(&entry.pattern) {
                Some(pattern) => self.aliases.push(Alias {
                    literal: pattern.find(['*', '?', '[', '\\']).unwrap_or(pattern.len()),
                    pattern,
                    module: entry.module,
                }),
                None => self.warnings.push(format!(
                    "{}:{}: ignoring alias {:?}: unbalanced bracket",
                    path.display(),
                    entry.line,
                    entry.pattern
                )),
            }
        }
    }

    fn add_softdeps(&mut self, path: &Path, bytes: &[u8]) {
        let parsed = parse::parse_softdep(path, bytes);
        self.note_problems(path, &parsed);
        for entry in parsed.entries {
            let location = format!("{}:{}", path.display(), entry.line);
            if !entry.ignored.is_empty() {
                self.warnings.push(format!(
                    "{location}: ignoring {} (no pre: or post: before it, as kmod does)",
                    entry.ignored.join(" ")
                ));
            }
            self.softdeps
                .entry(entry.module)
                .or_default()
                .push(SoftDep {
                    pre: entry.pre,
                    post: entry.post,
                    location,
                });
        }
    }

    fn add_options(&mut self, path: &Path, bytes: &[u8]) {
        let parsed = parse::parse_options(path, bytes);
        self.note_problems(path, &parsed);
        for entry in parsed.entries {
            let location = format!("{}:{}", path.display(), entry.line);
            if let Some((_, first)) = self.options.get(&entry.module) {
                self.warnings.push(format!(
                    "{location}: second options line for {} ignored; the first (at {first}) is kept",
                    entry.module
                ));
                continue;
            }
            self.options.insert(entry.module, (entry.params, location));
        }
    }

    /// The directories this database was read from.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// The module called `name` (any spelling: `-`/`_`, with or without `.ko`/directory).
    pub fn module(&self, name: &str) -> Option<&Module> {
        self.modules.get(canonical_key(name).as_ref())
    }

    /// Every module of `modules.dep` (including dependencies without a line of their
    /// own), sorted by name.
    pub fn modules(&self) -> impl Iterator<Item = &Module> {
        self.modules.values()
    }

    /// The `modules.options` parameters of a module, if it has an options line.
    pub fn options(&self, name: &str) -> Option<&str> {
        self.options
            .get(canonical_key(name).as_ref())
            .map(|(params, _)| params.as_str())
    }

    /// All `modules.softdep` lines of a module, in file order.
    pub fn softdeps(&self, name: &str) -> &[SoftDep] {
        self.softdeps
            .get(canonical_key(name).as_ref())
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// True if `modules.blocklist` lists the module.
    pub fn is_blocklisted(&self, name: &str) -> bool {
        self.blocklist.contains(canonical_key(name).as_ref())
    }

    /// True if `modules.builtin` lists the module.
    pub fn is_builtin(&self, name: &str) -> bool {
        self.builtin.contains(canonical_key(name).as_ref())
    }

    /// What was skipped or ignored while reading (each starts with `file:line:`, or
    /// `file:` for a file): bad lines, second `options` lines, repeated `modules.dep`
    /// lines, unreadable optional files, aliases with an unbalanced bracket, softdep names
    /// before any `pre:`/`post:`.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// What `name` stands for, in kmod's lookup order: a module of `modules.dep`; else
    /// every module whose `modules.alias` pattern matches it (in file order, only modules
    /// that exist in `modules.dep`); else a built-in module.
    pub fn resolve(&self, name: &str) -> Resolution {
        let canonical = canonical_name(name);
        if canonical.is_empty() {
            return Resolution::NotFound;
        }
        if self.modules.contains_key(&canonical) {
            return Resolution::Modules(vec![canonical]);
        }
        if let Some(key) = normalize_alias(name) {
            let mut found: Vec<String> = Vec::new();
            for alias in &self.aliases {
                let prefix = alias.pattern.get(..alias.literal).unwrap_or_default();
                if key.starts_with(prefix)
                    && self.modules.contains_key(&alias.module)
                    && !found.contains(&alias.module)
                    && fnmatch(&alias.pattern, &key)
                {
                    found.push(alias.module.clone());
                }
            }
            if !found.is_empty() {
                return Resolution::Modules(found);
            }
        }
        if self.builtin.contains(&canonical) {
            return Resolution::Builtin(canonical);
        }
        Resolution::NotFound
    }

    /// AOSP `modprobe -l PATTERN`: modules whose canonical name matches the glob (listed
    /// by name), or whose file name matches it (listed by path), sorted by name.
    pub fn list(&self, pattern: &str) -> Vec<String> {
        self.modules
            .values()
            .filter_map(|m| {
                if fnmatch(pattern, &m.name) {
                    Some(m.name.clone())
                } else {
                    let file = m.path.file_name()?.to_str()?;
                    fnmatch(pattern, file).then(|| m.path.display().to_string())
                }
            })
            .collect()
    }
}

/// Reads a modules.load-style list (`modules.load`, `modules.load.recovery`, …) into
/// canonical module names, in order, without repeats; bad lines are in
/// [`parse::Parsed::problems`] and skipped. The file must exist.
pub fn read_load_list(path: &Path) -> Result<parse::Parsed<String>, ModprobeError> {
    match read_optional(path)? {
        Some(bytes) => Ok(parse::parse_load_list(path, &bytes)),
        None => Err(ModprobeError::Io {
            path: path.to_path_buf(),
            source: ErrorKind::NotFound.into(),
        }),
    }
}

/// Reads a whole file of at most [`MAX_FILE_SIZE`] bytes; `None` if it does not exist.
fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, ModprobeError> {
    let io_err = |source| ModprobeError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(e)),
    };
    if let Ok(meta) = file.metadata() {
        if meta.len() > MAX_FILE_SIZE {
            return Err(ModprobeError::FileTooLarge {
                path: path.to_path_buf(),
                size: meta.len(),
                limit: MAX_FILE_SIZE,
            });
        }
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_SIZE.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if size > MAX_FILE_SIZE {
        return Err(ModprobeError::FileTooLarge {
            path: path.to_path_buf(),
            size,
            limit: MAX_FILE_SIZE,
        });
    }
    Ok(Some(bytes))
}
