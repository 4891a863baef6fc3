//! `TarFile`: one file to deliver into a container as a tar stream (`docker cp -
//! container:dir`, no temporary file and no bind mount on the host), and its packing.
//! Pure.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TarFile {
    /// The file's name inside the archive (and in the directory it is copied into).
    pub name: String,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// What the file is, for plans and messages (`the pipelock config`).
    pub shows: String,
    /// The content. Not in the JSON plan: the plan shows the rendered config separately.
    #[serde(skip)]
    pub text: String,
}

impl TarFile {
    /// The archive: one regular file, owned by `uid:gid`, zero mtime (same input, same bytes).
    pub fn archive(&self) -> anyhow::Result<Vec<u8>> {
        let mut header = tar::Header::new_ustar();
        header.set_size(self.text.len() as u64);
        header.set_mode(self.mode);
        header.set_uid(self.uid.into());
        header.set_gid(self.gid.into());
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        let mut builder = tar::Builder::new(Vec::new());
        builder.append_data(&mut header, &self.name, self.text.as_bytes())?;
        Ok(builder.into_inner()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_archive_holds_the_file_with_its_owner_and_mode() {
        let file = TarFile {
            name: "pipelock.yaml".into(),
            mode: 0o644,
            uid: 1000,
            gid: 1001,
            shows: "the pipelock config".into(),
            text: "{\"version\": 1}\n".into(),
        };
        let bytes = file.archive().unwrap();
        assert_eq!(bytes, file.archive().unwrap(), "deterministic");
        let mut archive = tar::Archive::new(&bytes[..]);
        let mut entries = archive.entries().unwrap();
        let mut entry = entries.next().unwrap().unwrap();
        assert_eq!(entry.path().unwrap().to_str(), Some("pipelock.yaml"));
        assert_eq!(entry.header().uid().unwrap(), 1000);
        assert_eq!(entry.header().gid().unwrap(), 1001);
        assert_eq!(entry.header().mode().unwrap(), 0o644);
        let mut text = String::new();
        std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
        assert_eq!(text, file.text);
        assert!(entries.next().is_none());
    }
}
