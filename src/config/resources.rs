//! `Resources`: the agent container's memory, CPU and process limits, from the bottle's
//! `resources` with safe defaults, and their check against what the engine has. Pure.

use crate::config::manifest::ResourcesSpec;
use crate::config::number;
use serde::Serialize;

/// Enough for Claude Code and a build inside; a memory hog stops here, not at the host.
pub const DEFAULT_MEMORY_MB: u64 = 4096;
pub const DEFAULT_CPU_MILLIS: u64 = 2000;
/// A fork bomb stops here.
pub const DEFAULT_PIDS: u64 = 2048;

const MAX_MEMORY_MB: u64 = 1 << 20;
const MAX_CPUS: u64 = 1024;
const MAX_PIDS: u64 = 4_194_304;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Resources {
    pub memory_mb: u64,
    /// CPUs in thousandths (`1500` = 1.5 CPUs, Docker's `--cpus 1.5`).
    pub cpu_millis: u64,
    pub pids: u64,
    /// Which values the manifest set (defaults are fitted to the engine; set values are
    /// refused when the engine has less).
    #[serde(skip)]
    pub set: Set,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Set {
    pub memory: bool,
    pub cpus: bool,
}

/// What the engine has (`docker info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineCapacity {
    pub memory_bytes: u64,
    pub cpus: u64,
}

impl Default for Resources {
    fn default() -> Resources {
        Resources {
            memory_mb: DEFAULT_MEMORY_MB,
            cpu_millis: DEFAULT_CPU_MILLIS,
            pids: DEFAULT_PIDS,
            set: Set::default(),
        }
    }
}

impl Resources {
    /// Checks the bottle's `resources` object. An error is `(path under resources, message)`.
    pub fn from_spec(spec: &ResourcesSpec) -> Result<Resources, (String, String)> {
        let mut r = Resources::default();
        if let Some(v) = &spec.memory_mb {
            r.memory_mb = number::whole(v, MAX_MEMORY_MB, "MiB")
                .map_err(|m| (".memory_mb".to_string(), m))?;
            r.set.memory = true;
        }
        if let Some(v) = &spec.cpus {
            r.cpu_millis =
                number::thousandths(v, MAX_CPUS, "CPUs").map_err(|m| (".cpus".to_string(), m))?;
            r.set.cpus = true;
        }
        if let Some(v) = &spec.pids {
            r.pids =
                number::whole(v, MAX_PIDS, "processes").map_err(|m| (".pids".to_string(), m))?;
        }
        Ok(r)
    }

    /// The limits for this engine: a default above what the engine has shrinks to fit; a
    /// value the manifest set is refused (`(path under resources, message)`).
    pub fn fitted(&self, engine: Option<EngineCapacity>) -> Result<Resources, (String, String)> {
        let Some(engine) = engine else {
            return Ok(*self);
        };
        let mut r = *self;
        let engine_mb = engine.memory_bytes / (1024 * 1024);
        if engine_mb > 0 && r.memory_mb > engine_mb {
            if r.set.memory {
                return Err((
                    ".memory_mb".into(),
                    format!(
                        "{} MiB is more memory than the Docker engine has ({engine_mb} MiB)",
                        r.memory_mb
                    ),
                ));
            }
            r.memory_mb = engine_mb;
        }
        if engine.cpus > 0 && r.cpu_millis > engine.cpus * 1000 {
            if r.set.cpus {
                return Err((
                    ".cpus".into(),
                    format!(
                        "{} CPUs is more than the Docker engine has ({})",
                        number::thousandths_text(r.cpu_millis),
                        engine.cpus
                    ),
                ));
            }
            r.cpu_millis = engine.cpus * 1000;
        }
        Ok(r)
    }

    /// `--memory`, `--memory-swap` (the same: no swap beyond the limit), `--cpus` and
    /// `--pids-limit` for `docker run`.
    pub fn docker_args(&self) -> Vec<String> {
        vec![
            "--memory".into(),
            format!("{}m", self.memory_mb),
            "--memory-swap".into(),
            format!("{}m", self.memory_mb),
            "--cpus".into(),
            number::thousandths_text(self.cpu_millis),
            "--pids-limit".into(),
            self.pids.to_string(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(v: serde_json::Value) -> ResourcesSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn values_and_their_errors() {
        let r = Resources::from_spec(&spec(json!({"memory_mb": 2048, "cpus": 1.5, "pids": 300})))
            .unwrap();
        assert_eq!(
            r.docker_args(),
            [
                "--memory",
                "2048m",
                "--memory-swap",
                "2048m",
                "--cpus",
                "1.5",
                "--pids-limit",
                "300"
            ]
        );
        for (bad, path) in [
            (json!({"memory_mb": 0}), ".memory_mb"),
            (json!({"memory_mb": -1}), ".memory_mb"),
            (json!({"cpus": "2"}), ".cpus"),
            (json!({"cpus": 0}), ".cpus"),
            (json!({"pids": 1.5}), ".pids"),
            (json!({"pids": 99999999999u64}), ".pids"),
        ] {
            assert_eq!(Resources::from_spec(&spec(bad)).unwrap_err().0, path);
        }
    }

    #[test]
    fn defaults_fit_the_engine_and_set_values_must() {
        let small = EngineCapacity {
            memory_bytes: 2048 * 1024 * 1024,
            cpus: 1,
        };
        let fitted = Resources::default().fitted(Some(small)).unwrap();
        assert_eq!((fitted.memory_mb, fitted.cpu_millis), (2048, 1000));
        let set = Resources::from_spec(&spec(json!({"memory_mb": 8192}))).unwrap();
        let (path, msg) = set.fitted(Some(small)).unwrap_err();
        assert_eq!(path, ".memory_mb");
        assert!(
            msg.contains("more memory than the Docker engine has (2048 MiB)"),
            "{msg}"
        );
        let set = Resources::from_spec(&spec(json!({"cpus": 4}))).unwrap();
        assert_eq!(set.fitted(Some(small)).unwrap_err().0, ".cpus");
        assert_eq!(
            set.fitted(None).unwrap(),
            set,
            "no engine known: as written"
        );
    }
}
