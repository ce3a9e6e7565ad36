//! Rows: reading and writing the domain's records, and settling due
//! transitions. Everything here runs inside a transaction that
//! [`Cloud`](crate::Cloud) opened; nothing here checks permissions.

use std::collections::BTreeMap;
use std::str::FromStr;

use canon::Status;
use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Params, Row, params};

use crate::auth::{ApiKey, Scopes};
use crate::clock::Timestamp;
use crate::errors::Errors;
use crate::model::{
    AttachMode, Attachment, CatalogNames, Cluster, ClusterState, DataCenter, Disk, DiskState, DiskType, GpuModel,
    Image, ImageState, ListedDisk, ListedVm, MachineType, MaintenanceWindow, NextState, Operation, OperationState,
    Pending, Project, Quota, ResourceKind, ResourceRef, SshKey, Vm, VmState,
};

/// Why a transaction stopped: a domain error, or the database failed.
#[derive(Debug)]
pub(crate) enum Fail {
    Status(Status),
    Db(rusqlite::Error),
}

impl From<Status> for Fail {
    fn from(status: Status) -> Fail {
        Fail::Status(status)
    }
}

impl From<rusqlite::Error> for Fail {
    fn from(error: rusqlite::Error) -> Fail {
        Fail::Db(error)
    }
}

pub(crate) type Res<T> = Result<T, Fail>;

/// What `next_state` holds when a resource is to be removed.
const REMOVED: &str = "REMOVED";

/// The state enums stored as text.
pub(crate) trait StateName: Copy + FromStr<Err = crate::model::ParseEnumError> {
    fn name(self) -> &'static str;
}

macro_rules! state_names {
    ($($ty:ty),*) => { $( impl StateName for $ty { fn name(self) -> &'static str { self.as_str() } } )* };
}
state_names!(VmState, DiskState, ClusterState, ImageState);

// Every statement below is a `&'static str` that runs through the
// connection's statement cache: it is parsed once per connection, and a
// lookup costs a hash of its text.

/// `query_row` through the statement cache.
fn cached<T, P: Params>(
    tx: &Connection,
    sql: &'static str,
    params: P,
    f: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    tx.prepare_cached(sql)?.query_row(params, f)
}

/// The one row a query finds, or `None`.
fn one<T, P: Params>(
    tx: &Connection,
    sql: &'static str,
    params: P,
    row: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> Res<Option<T>> {
    Ok(cached(tx, sql, params, row).optional()?)
}

/// Every row a query finds, in its order.
fn all<T, P: Params>(
    tx: &Connection,
    sql: &'static str,
    params: P,
    row: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Res<Vec<T>> {
    let mut stmt = tx.prepare_cached(sql)?;
    let rows = stmt.query_map(params, row)?.collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Whether a query finds a row, through the statement cache.
fn exists<P: Params>(tx: &Connection, sql: &'static str, params: P) -> Res<bool> {
    Ok(tx.prepare_cached(sql)?.exists(params)?)
}

/// `execute` through the statement cache.
fn exec<P: Params>(tx: &Connection, sql: &'static str, params: P) -> rusqlite::Result<usize> {
    tx.prepare_cached(sql)?.execute(params)
}

/// Whether a statement changed exactly one row.
fn exec_one<P: Params>(tx: &Connection, sql: &'static str, params: P) -> Res<bool> {
    Ok(exec(tx, sql, params)? == 1)
}

fn parse_col<T: FromStr>(row: &Row<'_>, index: usize) -> rusqlite::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    text_col(row, index)?.parse().map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(e)))
}

/// A text column, borrowed from the row (for what is parsed, not kept).
fn text_col<'r>(row: &'r Row<'_>, index: usize) -> rusqlite::Result<&'r str> {
    row.get_ref(index)?.as_str().map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(e)))
}

fn json_col<T: serde::de::DeserializeOwned>(row: &Row<'_>, index: usize) -> rusqlite::Result<T> {
    serde_json::from_str(text_col(row, index)?)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(e)))
}

fn time_col(row: &Row<'_>, index: usize) -> rusqlite::Result<Timestamp> {
    row.get::<_, i64>(index).map(Timestamp::from_millis)
}

fn pending_col<S: StateName>(row: &Row<'_>, next: usize, due: usize) -> rusqlite::Result<Option<Pending<S>>> {
    let next_state = row
        .get_ref(next)?
        .as_str_or_null()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(next, Type::Text, Box::new(e)))?;
    let due_at: Option<i64> = row.get(due)?;
    let Some(text) = next_state else { return Ok(None) };
    let next_state = if text == REMOVED {
        NextState::Removed
    } else {
        NextState::State(
            text.parse().map_err(|e| rusqlite::Error::FromSqlConversionFailure(next, Type::Text, Box::new(e)))?,
        )
    };
    Ok(Some(Pending { next: next_state, due_at: due_at.map(Timestamp::from_millis) }))
}

fn pending_values<S: StateName>(pending: &Option<Pending<S>>) -> (Option<&'static str>, Option<i64>) {
    match pending {
        None => (None, None),
        Some(p) => {
            let next = match p.next {
                NextState::State(s) => s.name(),
                NextState::Removed => REMOVED,
            };
            (Some(next), p.due_at.map(Timestamp::as_millis))
        }
    }
}

fn count(value: i64) -> u32 {
    u32::try_from(value.max(0)).unwrap_or(u32::MAX)
}

// Settings.

pub(crate) fn setting(tx: &Connection, key: &str) -> Res<Option<Vec<u8>>> {
    Ok(cached(tx, "SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

pub(crate) fn set_setting(tx: &Connection, key: &str, value: &[u8]) -> Res<()> {
    exec(tx, "INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)", params![key, value])?;
    Ok(())
}

// Catalog.

pub(crate) fn insert_gpu_model_if_absent(tx: &Connection, model: &GpuModel) -> Res<()> {
    exec(
        tx,
        "INSERT OR IGNORE INTO gpu_models (id, vendor_name, model_name, memory_gib) VALUES (?1, ?2, ?3, ?4)",
        params![model.id, model.vendor_name, model.model_name, model.memory_gib],
    )?;
    Ok(())
}

pub(crate) fn insert_data_center_if_absent(tx: &Connection, dc: &DataCenter) -> Res<()> {
    exec(tx,
        "INSERT OR IGNORE INTO data_centers (id, number, display_name, country, latitude, longitude, supplier_name, renewable_energy)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            dc.id,
            dc.number,
            dc.display_name,
            dc.country,
            dc.latitude,
            dc.longitude,
            dc.supplier_name,
            dc.renewable_energy
        ],
    )?;
    Ok(())
}

pub(crate) fn insert_machine_type_if_absent(tx: &Connection, mt: &MachineType) -> Res<()> {
    exec(tx,
        "INSERT OR IGNORE INTO machine_types (data_center_id, id, gpu_model_id, gpus, vcpus, memory_gib, cpu_model, capacity)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![mt.data_center_id, mt.id, mt.gpu_model_id, mt.gpus, mt.vcpus, mt.memory_gib, mt.cpu_model, mt.capacity],
    )?;
    Ok(())
}

/// The `SELECT` of a data center, without its `WHERE`.
macro_rules! data_center_select {
    () => {
        "SELECT id, number, display_name, country, latitude, longitude, supplier_name, renewable_energy FROM data_centers"
    };
}

fn data_center_row(row: &Row<'_>) -> rusqlite::Result<DataCenter> {
    Ok(DataCenter {
        id: row.get(0)?,
        number: row.get(1)?,
        display_name: row.get(2)?,
        country: row.get(3)?,
        latitude: row.get(4)?,
        longitude: row.get(5)?,
        supplier_name: row.get(6)?,
        renewable_energy: row.get(7)?,
    })
}

pub(crate) fn data_centers(tx: &Connection) -> Res<Vec<DataCenter>> {
    all(tx, concat!(data_center_select!(), " ORDER BY number"), [], data_center_row)
}

/// The number of the data center, if it exists (the rest of its row is
/// not read).
pub(crate) fn data_center_number(tx: &Connection, id: &str) -> Res<Option<i64>> {
    Ok(tx.prepare_cached("SELECT number FROM data_centers WHERE id = ?1")?.query_row([id], |r| r.get(0)).optional()?)
}

pub(crate) fn data_center(tx: &Connection, id: &str) -> Res<Option<DataCenter>> {
    one(tx, concat!(data_center_select!(), " WHERE id = ?1"), [id], data_center_row)
}

pub(crate) fn data_center_by_number(tx: &Connection, number: i64) -> Res<Option<DataCenter>> {
    one(tx, concat!(data_center_select!(), " WHERE number = ?1"), [number], data_center_row)
}

/// The names VM reads take from the catalog: see [`CatalogNames`].
pub(crate) fn catalog_names(tx: &Connection) -> Res<CatalogNames> {
    let mut names = CatalogNames::default();
    for (data_center_id, id, cpu_model) in
        all(tx, "SELECT data_center_id, id, cpu_model FROM machine_types", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
    {
        names.add_machine_type(data_center_id, id, cpu_model);
    }
    for (id, name) in all(tx, "SELECT id, model_name FROM gpu_models", [], |r| Ok((r.get(0)?, r.get(1)?)))? {
        names.add_gpu_model(id, name);
    }
    Ok(names)
}

pub(crate) fn gpu_models(tx: &Connection) -> Res<Vec<GpuModel>> {
    all(tx, "SELECT id, vendor_name, model_name, memory_gib FROM gpu_models ORDER BY id", [], |r| {
        Ok(GpuModel { id: r.get(0)?, vendor_name: r.get(1)?, model_name: r.get(2)?, memory_gib: r.get(3)? })
    })
}

/// The `SELECT` of a machine type with the machines in use, without its
/// `WHERE`.
macro_rules! machine_type_select {
    () => {
        "SELECT m.id, m.data_center_id, m.gpu_model_id, m.gpus, m.vcpus, m.memory_gib, m.cpu_model, m.capacity,
    (SELECT COUNT(*) FROM vms v WHERE v.data_center_id = m.data_center_id AND v.machine_type_id = m.id AND v.state != 'DELETING')
    + (SELECT COALESCE(SUM(c.machine_count), 0) FROM clusters c
       WHERE c.data_center_id = m.data_center_id AND c.machine_type_id = m.id AND c.state != 'STATE_DELETING')
    FROM machine_types m"
    };
}

fn machine_type_row(row: &Row<'_>) -> rusqlite::Result<MachineType> {
    Ok(MachineType {
        id: row.get(0)?,
        data_center_id: row.get(1)?,
        gpu_model_id: row.get(2)?,
        gpus: row.get(3)?,
        vcpus: row.get(4)?,
        memory_gib: row.get(5)?,
        cpu_model: row.get(6)?,
        capacity: row.get(7)?,
        in_use: count(row.get(8)?),
    })
}

pub(crate) fn machine_types(tx: &Connection, data_center_id: Option<&str>) -> Res<Vec<MachineType>> {
    all(
        tx,
        concat!(machine_type_select!(), " WHERE ?1 IS NULL OR m.data_center_id = ?1 ORDER BY m.data_center_id, m.id"),
        [data_center_id],
        machine_type_row,
    )
}

pub(crate) fn machine_type(tx: &Connection, data_center_id: &str, id: &str) -> Res<Option<MachineType>> {
    one(
        tx,
        concat!(machine_type_select!(), " WHERE m.data_center_id = ?1 AND m.id = ?2"),
        [data_center_id, id],
        machine_type_row,
    )
}

pub(crate) fn set_capacity(tx: &Connection, data_center_id: &str, id: &str, capacity: u32) -> Res<bool> {
    exec_one(
        tx,
        "UPDATE machine_types SET capacity = ?3 WHERE data_center_id = ?1 AND id = ?2",
        params![data_center_id, id, capacity],
    )
}

// Maintenance windows.

fn maintenance_row(r: &Row<'_>) -> rusqlite::Result<MaintenanceWindow> {
    Ok(MaintenanceWindow { data_center_id: r.get(0)?, starts_at: time_col(r, 1)?, ends_at: time_col(r, 2)? })
}

pub(crate) fn maintenance(tx: &Connection, data_center_id: &str) -> Res<Option<MaintenanceWindow>> {
    one(
        tx,
        "SELECT data_center_id, starts_at, ends_at FROM maintenance_windows WHERE data_center_id = ?1",
        [data_center_id],
        maintenance_row,
    )
}

pub(crate) fn maintenance_windows(tx: &Connection) -> Res<Vec<MaintenanceWindow>> {
    all(
        tx,
        "SELECT data_center_id, starts_at, ends_at FROM maintenance_windows ORDER BY data_center_id",
        [],
        maintenance_row,
    )
}

pub(crate) fn set_maintenance(tx: &Connection, window: &MaintenanceWindow) -> Res<()> {
    exec(
        tx,
        "INSERT OR REPLACE INTO maintenance_windows (data_center_id, starts_at, ends_at) VALUES (?1, ?2, ?3)",
        params![window.data_center_id, window.starts_at.as_millis(), window.ends_at.as_millis()],
    )?;
    Ok(())
}

pub(crate) fn clear_maintenance(tx: &Connection, data_center_id: &str) -> Res<bool> {
    exec_one(tx, "DELETE FROM maintenance_windows WHERE data_center_id = ?1", [data_center_id])
}

// Projects.

/// The `SELECT` of a project, without its `WHERE`.
macro_rules! project_select {
    () => {
        "SELECT id, number, name, billing_account_id, created_at FROM projects"
    };
}

fn project_row(row: &Row<'_>) -> rusqlite::Result<Project> {
    Ok(Project {
        id: row.get(0)?,
        number: row.get(1)?,
        name: row.get(2)?,
        billing_account_id: row.get(3)?,
        created_at: time_col(row, 4)?,
    })
}

pub(crate) fn project(tx: &Connection, id: &str) -> Res<Option<Project>> {
    one(tx, concat!(project_select!(), " WHERE id = ?1"), [id], project_row)
}

pub(crate) fn projects(tx: &Connection) -> Res<Vec<Project>> {
    all(tx, concat!(project_select!(), " ORDER BY number"), [], project_row)
}

pub(crate) fn insert_project(
    tx: &Connection,
    id: &str,
    name: &str,
    billing_account_id: &str,
    now: Timestamp,
) -> Res<Project> {
    let number: i64 = cached(tx, "SELECT COALESCE(MAX(number), 0) + 1 FROM projects", [], |r| r.get(0))?;
    exec(
        tx,
        "INSERT INTO projects (id, number, name, billing_account_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, number, name, billing_account_id, now.as_millis()],
    )?;
    Ok(Project {
        id: id.to_owned(),
        number,
        name: name.to_owned(),
        billing_account_id: billing_account_id.to_owned(),
        created_at: now,
    })
}

// API keys.

/// The `SELECT` of an API key and its hash, without its `WHERE`.
macro_rules! api_key_select {
    () => {
        "SELECT id, project_id, name, scopes, created_at, key_hash FROM api_keys"
    };
}

fn api_key_row(row: &Row<'_>) -> rusqlite::Result<(ApiKey, Vec<u8>)> {
    Ok((
        ApiKey {
            id: row.get(0)?,
            project_id: row.get(1)?,
            name: row.get(2)?,
            scopes: parse_col::<Scopes>(row, 3)?,
            created_at: time_col(row, 4)?,
        },
        row.get(5)?,
    ))
}

pub(crate) fn api_key_by_hash(tx: &Connection, hash: &[u8]) -> Res<Option<(ApiKey, Vec<u8>)>> {
    one(tx, concat!(api_key_select!(), " WHERE key_hash = ?1"), [hash], api_key_row)
}

pub(crate) fn api_keys(tx: &Connection, project_id: &str) -> Res<Vec<ApiKey>> {
    all(tx, concat!(api_key_select!(), " WHERE project_id = ?1 ORDER BY created_at, id"), [project_id], |r| {
        api_key_row(r).map(|(k, _)| k)
    })
}

pub(crate) fn api_key_id_taken(tx: &Connection, id: &str) -> Res<bool> {
    Ok(cached(tx, "SELECT 1 FROM api_keys WHERE id = ?1", [id], |_| Ok(())).optional()?.is_some())
}

pub(crate) fn insert_api_key(tx: &Connection, key: &ApiKey, hash: &[u8]) -> Res<()> {
    exec(
        tx,
        "INSERT INTO api_keys (id, project_id, name, key_hash, scopes, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![key.id, key.project_id, key.name, hash, key.scopes.to_string(), key.created_at.as_millis()],
    )?;
    Ok(())
}

pub(crate) fn set_api_key_scopes(tx: &Connection, id: &str, scopes: &Scopes) -> Res<()> {
    exec(tx, "UPDATE api_keys SET scopes = ?2 WHERE id = ?1", params![id, scopes.to_string()])?;
    Ok(())
}

pub(crate) fn delete_api_key(tx: &Connection, id: &str) -> Res<bool> {
    exec_one(tx, "DELETE FROM api_keys WHERE id = ?1", [id])
}

/// Records the keyed hash of the part of a key before its first `$`.
pub(crate) fn set_api_key_prefix(tx: &Connection, key_id: &str, prefix_hash: &[u8]) -> Res<()> {
    exec(
        tx,
        "INSERT INTO api_key_prefixes (key_id, prefix_hash) VALUES (?1, ?2) \
         ON CONFLICT (key_id) DO UPDATE SET prefix_hash = excluded.prefix_hash",
        params![key_id, prefix_hash],
    )?;
    Ok(())
}

/// Whether a live key's part before its first `$` has this hash.
pub(crate) fn api_key_prefix_known(tx: &Connection, prefix_hash: &[u8]) -> Res<bool> {
    Ok(cached(tx, "SELECT 1 FROM api_key_prefixes WHERE prefix_hash = ?1 LIMIT 1", [prefix_hash], |_| Ok(()))
        .optional()?
        .is_some())
}

// Name templates.

/// A project's instance name templates; empty when it has none.
pub(crate) fn name_templates(tx: &Connection, project_id: &str) -> Res<Vec<String>> {
    let text: Option<String> =
        cached(tx, "SELECT templates FROM name_templates WHERE project_id = ?1", [project_id], |r| r.get(0))
            .optional()?;
    match text {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| Fail::Db(rusqlite::Error::FromSqlConversionFailure(0, Type::Text, Box::new(e)))),
    }
}

/// Replaces a project's name templates; an empty list removes them.
pub(crate) fn set_name_templates(tx: &Connection, project_id: &str, templates: &[String]) -> Res<()> {
    if templates.is_empty() {
        exec(tx, "DELETE FROM name_templates WHERE project_id = ?1", [project_id])?;
    } else {
        let text = serde_json::to_string(templates).expect("strings serialize");
        exec(
            tx,
            "INSERT INTO name_templates (project_id, templates) VALUES (?1, ?2) \
             ON CONFLICT (project_id) DO UPDATE SET templates = excluded.templates",
            params![project_id, text],
        )?;
    }
    Ok(())
}

// Quotas and usage.

/// GPUs of one model that a project holds in a data center.
pub(crate) fn gpus_in_use(tx: &Connection, project_id: &str, data_center_id: &str, gpu_model_id: &str) -> Res<u32> {
    let used: i64 = cached(tx,
        "SELECT (SELECT COALESCE(SUM(gpus), 0) FROM vms
                 WHERE project_id = ?1 AND data_center_id = ?2 AND gpu_model_id = ?3 AND state != 'DELETING')
              + (SELECT COALESCE(SUM(c.machine_count * m.gpus), 0) FROM clusters c
                 JOIN machine_types m ON m.data_center_id = c.data_center_id AND m.id = c.machine_type_id
                 WHERE c.project_id = ?1 AND c.data_center_id = ?2 AND m.gpu_model_id = ?3 AND c.state != 'STATE_DELETING')",
        [project_id, data_center_id, gpu_model_id],
        |r| r.get(0),
    )?;
    Ok(count(used))
}

pub(crate) fn quota(tx: &Connection, project_id: &str, data_center_id: &str, gpu_model_id: &str) -> Res<Option<Quota>> {
    let limit: Option<u32> = cached(
        tx,
        "SELECT gpu_limit FROM quotas WHERE project_id = ?1 AND data_center_id = ?2 AND gpu_model_id = ?3",
        [project_id, data_center_id, gpu_model_id],
        |r| r.get(0),
    )
    .optional()?;
    let Some(limit) = limit else { return Ok(None) };
    Ok(Some(Quota {
        project_id: project_id.to_owned(),
        data_center_id: data_center_id.to_owned(),
        gpu_model_id: gpu_model_id.to_owned(),
        limit,
        used: gpus_in_use(tx, project_id, data_center_id, gpu_model_id)?,
    }))
}

pub(crate) fn quotas(tx: &Connection, project_id: &str) -> Res<Vec<Quota>> {
    let keys: Vec<(String, String)> = all(
        tx,
        "SELECT data_center_id, gpu_model_id FROM quotas WHERE project_id = ?1 ORDER BY data_center_id, gpu_model_id",
        [project_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mut out = Vec::with_capacity(keys.len());
    for (dc, model) in keys {
        out.extend(quota(tx, project_id, &dc, &model)?);
    }
    Ok(out)
}

pub(crate) fn set_quota(
    tx: &Connection,
    project_id: &str,
    data_center_id: &str,
    gpu_model_id: &str,
    limit: u32,
) -> Res<()> {
    exec(
        tx,
        "INSERT OR REPLACE INTO quotas (project_id, data_center_id, gpu_model_id, gpu_limit) VALUES (?1, ?2, ?3, ?4)",
        params![project_id, data_center_id, gpu_model_id, limit],
    )?;
    Ok(())
}

pub(crate) fn set_quota_if_absent(
    tx: &Connection,
    project_id: &str,
    data_center_id: &str,
    gpu_model_id: &str,
    limit: u32,
) -> Res<()> {
    exec(
        tx,
        "INSERT OR IGNORE INTO quotas (project_id, data_center_id, gpu_model_id, gpu_limit) VALUES (?1, ?2, ?3, ?4)",
        params![project_id, data_center_id, gpu_model_id, limit],
    )?;
    Ok(())
}

pub(crate) fn delete_quota(tx: &Connection, project_id: &str, data_center_id: &str, gpu_model_id: &str) -> Res<bool> {
    exec_one(
        tx,
        "DELETE FROM quotas WHERE project_id = ?1 AND data_center_id = ?2 AND gpu_model_id = ?3",
        [project_id, data_center_id, gpu_model_id],
    )
}

// VMs.

/// A VM's catalog columns, with the names the catalog gives them.
struct VmCatalog {
    data_center_id: String,
    machine_type: String,
    gpu_model_id: Option<String>,
    cpu_model: String,
    gpu_model: Option<String>,
}

/// Reads a VM's data center, machine type and GPU model id (the columns
/// `at`, `at + 1` and `at + 2`) and takes the CPU model and the GPU
/// model's name from `names`. The foreign key from a VM to its machine
/// type makes a missing machine type a store that is not ours, reported
/// as a conversion error; a VM's GPU model has no key, and a missing one
/// shows no name, as a left join would.
fn vm_catalog(names: &CatalogNames, row: &Row<'_>, at: usize) -> rusqlite::Result<VmCatalog> {
    let data_center_id: String = row.get(at)?;
    let machine_type: String = row.get(at + 1)?;
    let gpu_model_id: Option<String> = row.get(at + 2)?;
    let cpu_model = names.cpu_model(&data_center_id, &machine_type).ok_or_else(|| {
        let error = format!("machine type {data_center_id}/{machine_type} is not in the catalog");
        rusqlite::Error::FromSqlConversionFailure(at + 1, Type::Text, error.into())
    })?;
    Ok(VmCatalog {
        cpu_model: cpu_model.to_owned(),
        gpu_model: gpu_model_id.as_deref().and_then(|id| names.gpu_model(id)).map(str::to_owned),
        data_center_id,
        machine_type,
        gpu_model_id,
    })
}

/// The `SELECT` of a VM, without its `WHERE`; the CPU model and the GPU
/// model's name come from [`CatalogNames`] (see [`vm_catalog`]).
macro_rules! vm_select {
    () => {
        "SELECT v.project_id, v.id, v.name, v.data_center_id, v.machine_type_id, v.gpu_model_id, v.gpus, v.vcpus,
    v.memory_gib, v.boot_disk_id, v.boot_disk_size_gib, v.image_id, v.ssh_key_ids, v.metadata, v.internal_ip,
    v.external_ip, v.state, v.next_state, v.due_at, v.created_at, v.updated_at, v.version, v.seq
    FROM vms v"
    };
}

fn vm_row(names: &CatalogNames, row: &Row<'_>) -> rusqlite::Result<Vm> {
    let catalog = vm_catalog(names, row, 3)?;
    Ok(Vm {
        project_id: row.get(0)?,
        id: row.get(1)?,
        name: row.get(2)?,
        data_center_id: catalog.data_center_id,
        machine_type: catalog.machine_type,
        gpu_model_id: catalog.gpu_model_id,
        gpu_model: catalog.gpu_model,
        gpu_quantity: row.get(6)?,
        vcpus: row.get(7)?,
        memory_gib: row.get(8)?,
        cpu_model: catalog.cpu_model,
        boot_disk_id: row.get(9)?,
        boot_disk_size_gib: row.get(10)?,
        image_id: row.get(11)?,
        ssh_key_ids: json_col(row, 12)?,
        metadata: json_col::<BTreeMap<String, String>>(row, 13)?,
        internal_ip: row.get(14)?,
        external_ip: row.get(15)?,
        state: parse_col(row, 16)?,
        pending: pending_col(row, 17, 18)?,
        created_at: time_col(row, 19)?,
        updated_at: time_col(row, 20)?,
        version: row.get::<_, i64>(21)? as u64,
    })
}

pub(crate) fn vm(tx: &Connection, names: &CatalogNames, project_id: &str, id: &str) -> Res<Option<Vm>> {
    one(tx, concat!(vm_select!(), " WHERE v.project_id = ?1 AND v.id = ?2"), [project_id, id], |r| vm_row(names, r))
}

/// The project's VMs in the order they were made. They are sorted here
/// rather than by SQLite, which would copy every row through a sorter.
pub(crate) fn vms(tx: &Connection, names: &CatalogNames, project_id: &str) -> Res<Vec<Vm>> {
    let mut vms = all(tx, concat!(vm_select!(), " WHERE v.project_id = ?1"), [project_id], |row| {
        Ok((row.get::<_, i64>(22)?, vm_row(names, row)?))
    })?;
    vms.sort_unstable_by_key(|(seq, _)| *seq);
    Ok(vms.into_iter().map(|(_, vm)| vm).collect())
}

/// The columns of a VM that its JSON shows (the list's projection: no
/// names, SSH keys or pending transitions), then its sequence number and
/// version, for [`listed_vm_row`].
macro_rules! listed_vm_select {
    () => {
        "SELECT v.project_id, v.id, v.data_center_id, v.machine_type_id, v.gpu_model_id, v.gpus, v.vcpus,
            v.memory_gib, v.boot_disk_size_gib, v.image_id, v.metadata, v.internal_ip, v.external_ip, v.state,
            v.created_at, v.seq, v.version
         FROM vms v"
    };
}

/// A row of [`listed_vm_select`]: the VM, its sequence number and its
/// version.
fn listed_vm_row(names: &CatalogNames, row: &Row<'_>) -> rusqlite::Result<(ListedVm, i64, u64)> {
    let catalog = vm_catalog(names, row, 2)?;
    let vm = ListedVm {
        project_id: row.get(0)?,
        id: row.get(1)?,
        data_center_id: catalog.data_center_id,
        machine_type: catalog.machine_type,
        gpu_model_id: catalog.gpu_model_id,
        gpu_model: catalog.gpu_model,
        cpu_model: catalog.cpu_model,
        gpu_quantity: row.get(5)?,
        vcpus: row.get(6)?,
        memory_gib: row.get(7)?,
        boot_disk_size_gib: row.get(8)?,
        image_id: row.get(9)?,
        metadata: json_col(row, 10)?,
        internal_ip: row.get(11)?,
        external_ip: row.get(12)?,
        state: parse_col(row, 13)?,
        created_at: time_col(row, 14)?,
    };
    Ok((vm, row.get(15)?, row.get::<_, i64>(16)? as u64))
}

/// The project's VMs in the order they were made, with only what a list
/// shows of them (the list's projection: no names, SSH keys, pending
/// transitions or versions are read).
pub(crate) fn listed_vms(tx: &Connection, names: &CatalogNames, project_id: &str) -> Res<Vec<ListedVm>> {
    let mut vms =
        all(tx, concat!(listed_vm_select!(), " WHERE v.project_id = ?1"), [project_id], |r| listed_vm_row(names, r))?;
    vms.sort_unstable_by_key(|(_, seq, _)| *seq);
    Ok(vms.into_iter().map(|(vm, _, _)| vm).collect())
}

/// One VM with only what its JSON shows, and its version (for its ETag).
pub(crate) fn listed_vm(
    tx: &Connection,
    names: &CatalogNames,
    project_id: &str,
    id: &str,
) -> Res<Option<(ListedVm, u64)>> {
    let found =
        one(tx, concat!(listed_vm_select!(), " WHERE v.project_id = ?1 AND v.id = ?2"), [project_id, id], |r| {
            listed_vm_row(names, r)
        })?;
    Ok(found.map(|(vm, _, version)| (vm, version)))
}

/// The next VM sequence number, which the addresses are made from.
pub(crate) fn next_vm_seq(tx: &Connection) -> Res<i64> {
    Ok(cached(tx, "SELECT COALESCE(MAX(seq), 0) + 1 FROM vms", [], |r| r.get(0))?)
}

pub(crate) fn insert_vm(tx: &Connection, vm: &Vm, seq: i64) -> Res<()> {
    let (next, due) = pending_values(&vm.pending);
    exec(tx,
        "INSERT INTO vms (project_id, id, seq, name, data_center_id, machine_type_id, gpu_model_id, gpus, vcpus,
            memory_gib, boot_disk_id, boot_disk_size_gib, image_id, ssh_key_ids, metadata, internal_ip, external_ip,
            state, next_state, due_at, created_at, updated_at, version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
        params![
            vm.project_id,
            vm.id,
            seq,
            vm.name,
            vm.data_center_id,
            vm.machine_type,
            vm.gpu_model_id,
            vm.gpu_quantity,
            vm.vcpus,
            vm.memory_gib,
            vm.boot_disk_id,
            vm.boot_disk_size_gib,
            vm.image_id,
            serde_json::to_string(&vm.ssh_key_ids).expect("strings serialize"),
            serde_json::to_string(&vm.metadata).expect("strings serialize"),
            vm.internal_ip,
            vm.external_ip,
            vm.state.as_str(),
            next,
            due,
            vm.created_at.as_millis(),
            vm.updated_at.as_millis(),
            vm.version as i64,
        ],
    )?;
    Ok(())
}

/// Writes a changed VM, raising its version and stamping `updated_at`.
pub(crate) fn save_vm(tx: &Connection, vm: &mut Vm, now: Timestamp) -> Res<()> {
    vm.version += 1;
    vm.updated_at = now;
    let (next, due) = pending_values(&vm.pending);
    exec(
        tx,
        "UPDATE vms SET name = ?3, vcpus = ?4, memory_gib = ?5, metadata = ?6, state = ?7, next_state = ?8,
            due_at = ?9, updated_at = ?10, version = ?11, boot_disk_size_gib = ?12
         WHERE project_id = ?1 AND id = ?2",
        params![
            vm.project_id,
            vm.id,
            vm.name,
            vm.vcpus,
            vm.memory_gib,
            serde_json::to_string(&vm.metadata).expect("strings serialize"),
            vm.state.as_str(),
            next,
            due,
            vm.updated_at.as_millis(),
            vm.version as i64,
            vm.boot_disk_size_gib,
        ],
    )?;
    Ok(())
}

// Disks.

/// The `SELECT` of a disk, without its `WHERE`.
macro_rules! disk_select {
    () => {
        "SELECT project_id, id, name, data_center_id, size_gib, storage_class, disk_type, image_id,
    vm_id, attach_mode, attached_at, state, next_state, due_at, created_at, updated_at, version, rowid FROM disks"
    };
}

fn disk_row(row: &Row<'_>) -> rusqlite::Result<Disk> {
    let vm_id: Option<String> = row.get(8)?;
    let attachment = match vm_id {
        None => None,
        Some(vm_id) => {
            Some(Attachment { vm_id, mode: parse_col::<AttachMode>(row, 9)?, attached_at: time_col(row, 10)? })
        }
    };
    Ok(Disk {
        project_id: row.get(0)?,
        id: row.get(1)?,
        name: row.get(2)?,
        data_center_id: row.get(3)?,
        size_gib: row.get(4)?,
        storage_class: row.get(5)?,
        disk_type: parse_col::<DiskType>(row, 6)?,
        image_id: row.get(7)?,
        attachment,
        state: parse_col(row, 11)?,
        pending: pending_col(row, 12, 13)?,
        created_at: time_col(row, 14)?,
        updated_at: time_col(row, 15)?,
        version: row.get::<_, i64>(16)? as u64,
    })
}

/// Whether the project has a disk with this id (its key only, no row
/// read).
pub(crate) fn disk_exists(tx: &Connection, project_id: &str, id: &str) -> Res<bool> {
    exists(tx, "SELECT 1 FROM disks WHERE project_id = ?1 AND id = ?2", [project_id, id])
}

pub(crate) fn disk(tx: &Connection, project_id: &str, id: &str) -> Res<Option<Disk>> {
    one(tx, concat!(disk_select!(), " WHERE project_id = ?1 AND id = ?2"), [project_id, id], disk_row)
}

pub(crate) fn disks(tx: &Connection, project_id: &str, data_center_id: Option<&str>) -> Res<Vec<Disk>> {
    all(
        tx,
        concat!(disk_select!(), " WHERE project_id = ?1 AND (?2 IS NULL OR data_center_id = ?2) ORDER BY rowid"),
        params![project_id, data_center_id],
        disk_row,
    )
}

pub(crate) fn disks_of_vm(tx: &Connection, project_id: &str, vm_id: &str) -> Res<Vec<Disk>> {
    // The boot disk first, then the storage disks oldest first; sorted
    // here rather than by SQLite, as `vms` is.
    let mut disks =
        all(tx, concat!(disk_select!(), " WHERE project_id = ?1 AND vm_id = ?2"), [project_id, vm_id], |row| {
            Ok((row.get::<_, i64>(17)?, disk_row(row)?))
        })?;
    disks.sort_unstable_by_key(|(rowid, disk)| (disk.disk_type == DiskType::Storage, *rowid));
    Ok(disks.into_iter().map(|(_, disk)| disk).collect())
}

/// The columns of a disk that a VM's JSON shows, then its rowid, for
/// [`listed_disk_row`].
macro_rules! listed_disk_select {
    () => {
        "SELECT project_id, id, data_center_id, vm_id, size_gib, disk_type, state, image_id, created_at, rowid
         FROM disks"
    };
}

/// A row of [`listed_disk_select`]: the disk and its rowid.
fn listed_disk_row(row: &Row<'_>) -> rusqlite::Result<(ListedDisk, i64)> {
    let disk = ListedDisk {
        project_id: row.get(0)?,
        id: row.get(1)?,
        data_center_id: row.get(2)?,
        vm_id: row.get(3)?,
        size_gib: row.get(4)?,
        disk_type: parse_col(row, 5)?,
        state: parse_col(row, 6)?,
        image_id: row.get(7)?,
        created_at: time_col(row, 8)?,
    };
    Ok((disk, row.get(9)?))
}

/// Every disk of the project attached to a VM, oldest first: a VM list's
/// disks in one indexed query (added for the CUDO surface's VM list).
pub(crate) fn attached_disks(tx: &Connection, project_id: &str) -> Res<Vec<ListedDisk>> {
    // Sorted here, as `vms` is.
    let mut disks = all(
        tx,
        concat!(listed_disk_select!(), " WHERE project_id = ?1 AND vm_id IS NOT NULL"),
        [project_id],
        listed_disk_row,
    )?;
    disks.sort_unstable_by_key(|(_, rowid)| *rowid);
    Ok(disks.into_iter().map(|(disk, _)| disk).collect())
}

/// A VM's disks with only what its JSON shows, in the order of
/// [`disks_of_vm`]: the boot disk first, then the storage disks oldest
/// first.
pub(crate) fn listed_disks_of_vm(tx: &Connection, project_id: &str, vm_id: &str) -> Res<Vec<ListedDisk>> {
    let mut disks = all(
        tx,
        concat!(listed_disk_select!(), " WHERE project_id = ?1 AND vm_id = ?2"),
        [project_id, vm_id],
        listed_disk_row,
    )?;
    disks.sort_unstable_by_key(|(disk, rowid)| (disk.disk_type == DiskType::Storage, *rowid));
    Ok(disks.into_iter().map(|(disk, _)| disk).collect())
}

pub(crate) fn insert_disk(tx: &Connection, disk: &Disk) -> Res<()> {
    let (next, due) = pending_values(&disk.pending);
    let attachment = disk.attachment.as_ref();
    exec(
        tx,
        "INSERT INTO disks (project_id, id, name, data_center_id, size_gib, storage_class, disk_type, image_id, vm_id,
            attach_mode, attached_at, state, next_state, due_at, created_at, updated_at, version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
        params![
            disk.project_id,
            disk.id,
            disk.name,
            disk.data_center_id,
            disk.size_gib,
            disk.storage_class,
            disk.disk_type.as_str(),
            disk.image_id,
            attachment.map(|a| a.vm_id.as_str()),
            attachment.map(|a| a.mode.as_str()),
            attachment.map(|a| a.attached_at.as_millis()),
            disk.state.as_str(),
            next,
            due,
            disk.created_at.as_millis(),
            disk.updated_at.as_millis(),
            disk.version as i64,
        ],
    )?;
    Ok(())
}

/// Writes a changed disk, raising its version and stamping `updated_at`.
pub(crate) fn save_disk(tx: &Connection, disk: &mut Disk, now: Timestamp) -> Res<()> {
    disk.version += 1;
    disk.updated_at = now;
    let (next, due) = pending_values(&disk.pending);
    let attachment = disk.attachment.as_ref();
    exec(
        tx,
        "UPDATE disks SET name = ?3, size_gib = ?4, vm_id = ?5, attach_mode = ?6, attached_at = ?7, state = ?8,
            next_state = ?9, due_at = ?10, updated_at = ?11, version = ?12
         WHERE project_id = ?1 AND id = ?2",
        params![
            disk.project_id,
            disk.id,
            disk.name,
            disk.size_gib,
            attachment.map(|a| a.vm_id.as_str()),
            attachment.map(|a| a.mode.as_str()),
            attachment.map(|a| a.attached_at.as_millis()),
            disk.state.as_str(),
            next,
            due,
            disk.updated_at.as_millis(),
            disk.version as i64,
        ],
    )?;
    Ok(())
}

// Clusters.

/// The `SELECT` of a cluster, without its `WHERE`.
macro_rules! cluster_select {
    () => {
        "SELECT project_id, id, data_center_id, machine_type_id, machine_count, state, next_state,
    due_at, created_at, updated_at, version FROM clusters"
    };
}

fn cluster_row(row: &Row<'_>) -> rusqlite::Result<Cluster> {
    Ok(Cluster {
        project_id: row.get(0)?,
        id: row.get(1)?,
        data_center_id: row.get(2)?,
        machine_type_id: row.get(3)?,
        machine_count: row.get(4)?,
        state: parse_col(row, 5)?,
        pending: pending_col(row, 6, 7)?,
        created_at: time_col(row, 8)?,
        updated_at: time_col(row, 9)?,
        version: row.get::<_, i64>(10)? as u64,
    })
}

pub(crate) fn cluster(tx: &Connection, project_id: &str, id: &str) -> Res<Option<Cluster>> {
    one(tx, concat!(cluster_select!(), " WHERE project_id = ?1 AND id = ?2"), [project_id, id], cluster_row)
}

pub(crate) fn clusters(tx: &Connection, project_id: &str) -> Res<Vec<Cluster>> {
    all(tx, concat!(cluster_select!(), " WHERE project_id = ?1 ORDER BY rowid"), [project_id], cluster_row)
}

pub(crate) fn insert_cluster(tx: &Connection, cluster: &Cluster) -> Res<()> {
    let (next, due) = pending_values(&cluster.pending);
    exec(
        tx,
        "INSERT INTO clusters (project_id, id, data_center_id, machine_type_id, machine_count, state, next_state,
            due_at, created_at, updated_at, version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            cluster.project_id,
            cluster.id,
            cluster.data_center_id,
            cluster.machine_type_id,
            cluster.machine_count,
            cluster.state.as_str(),
            next,
            due,
            cluster.created_at.as_millis(),
            cluster.updated_at.as_millis(),
            cluster.version as i64,
        ],
    )?;
    Ok(())
}

/// Writes a changed cluster, raising its version and stamping `updated_at`.
pub(crate) fn save_cluster(tx: &Connection, cluster: &mut Cluster, now: Timestamp) -> Res<()> {
    cluster.version += 1;
    cluster.updated_at = now;
    let (next, due) = pending_values(&cluster.pending);
    exec(tx,
        "UPDATE clusters SET machine_count = ?3, state = ?4, next_state = ?5, due_at = ?6, updated_at = ?7, version = ?8
         WHERE project_id = ?1 AND id = ?2",
        params![
            cluster.project_id,
            cluster.id,
            cluster.machine_count,
            cluster.state.as_str(),
            next,
            due,
            cluster.updated_at.as_millis(),
            cluster.version as i64,
        ],
    )?;
    Ok(())
}

// SSH keys.

/// The `SELECT` of an SSH key, without its `WHERE`.
macro_rules! ssh_key_select {
    () => {
        "SELECT project_id, id, name, public_key, fingerprint, key_type, comment, created_at FROM ssh_keys"
    };
}

fn ssh_key_row(row: &Row<'_>) -> rusqlite::Result<SshKey> {
    Ok(SshKey {
        project_id: row.get(0)?,
        id: row.get(1)?,
        name: row.get(2)?,
        public_key: row.get(3)?,
        fingerprint: row.get(4)?,
        key_type: row.get(5)?,
        comment: row.get(6)?,
        created_at: time_col(row, 7)?,
    })
}

pub(crate) fn ssh_key(tx: &Connection, project_id: &str, id: &str) -> Res<Option<SshKey>> {
    one(tx, concat!(ssh_key_select!(), " WHERE project_id = ?1 AND id = ?2"), [project_id, id], ssh_key_row)
}

pub(crate) fn ssh_key_by_id(tx: &Connection, id: &str) -> Res<Option<SshKey>> {
    one(tx, concat!(ssh_key_select!(), " WHERE id = ?1"), [id], ssh_key_row)
}

pub(crate) fn ssh_key_by_fingerprint(tx: &Connection, project_id: &str, fingerprint: &str) -> Res<Option<SshKey>> {
    one(
        tx,
        concat!(ssh_key_select!(), " WHERE project_id = ?1 AND fingerprint = ?2"),
        [project_id, fingerprint],
        ssh_key_row,
    )
}

pub(crate) fn ssh_keys(tx: &Connection, project_id: &str) -> Res<Vec<SshKey>> {
    all(tx, concat!(ssh_key_select!(), " WHERE project_id = ?1 ORDER BY created_at, rowid"), [project_id], ssh_key_row)
}

pub(crate) fn insert_ssh_key(tx: &Connection, key: &SshKey) -> Res<()> {
    exec(
        tx,
        "INSERT INTO ssh_keys (id, project_id, name, public_key, fingerprint, key_type, comment, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            key.id,
            key.project_id,
            key.name,
            key.public_key,
            key.fingerprint,
            key.key_type,
            key.comment,
            key.created_at.as_millis()
        ],
    )?;
    Ok(())
}

pub(crate) fn delete_ssh_key(tx: &Connection, project_id: &str, id: &str) -> Res<bool> {
    exec_one(tx, "DELETE FROM ssh_keys WHERE project_id = ?1 AND id = ?2", [project_id, id])
}

// Images.

/// The `SELECT` of an image, without its `WHERE`.
macro_rules! image_select {
    () => {
        "SELECT project_id, id, data_center_id, description, source_url, size_gib, operation_id,
    state, next_state, due_at, created_at, updated_at, version FROM images"
    };
}

fn image_row(row: &Row<'_>) -> rusqlite::Result<Image> {
    Ok(Image {
        project_id: row.get(0)?,
        id: row.get(1)?,
        data_center_id: row.get(2)?,
        description: row.get(3)?,
        source_url: row.get(4)?,
        size_gib: row.get(5)?,
        operation_id: row.get(6)?,
        state: parse_col(row, 7)?,
        pending: pending_col(row, 8, 9)?,
        created_at: time_col(row, 10)?,
        updated_at: time_col(row, 11)?,
        version: row.get::<_, i64>(12)? as u64,
    })
}

pub(crate) fn image(tx: &Connection, project_id: &str, id: &str) -> Res<Option<Image>> {
    one(tx, concat!(image_select!(), " WHERE project_id = ?1 AND id = ?2"), [project_id, id], image_row)
}

pub(crate) fn images(tx: &Connection, project_id: &str) -> Res<Vec<Image>> {
    all(tx, concat!(image_select!(), " WHERE project_id = ?1 ORDER BY rowid"), [project_id], image_row)
}

pub(crate) fn insert_image(tx: &Connection, image: &Image) -> Res<()> {
    let (next, due) = pending_values(&image.pending);
    exec(
        tx,
        "INSERT INTO images (project_id, id, data_center_id, description, source_url, size_gib, operation_id, state,
            next_state, due_at, created_at, updated_at, version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            image.project_id,
            image.id,
            image.data_center_id,
            image.description,
            image.source_url,
            image.size_gib,
            image.operation_id,
            image.state.as_str(),
            next,
            due,
            image.created_at.as_millis(),
            image.updated_at.as_millis(),
            image.version as i64,
        ],
    )?;
    Ok(())
}

/// Writes a changed image, raising its version and stamping `updated_at`.
pub(crate) fn save_image(tx: &Connection, image: &mut Image, now: Timestamp) -> Res<()> {
    image.version += 1;
    image.updated_at = now;
    let (next, due) = pending_values(&image.pending);
    exec(
        tx,
        "UPDATE images SET state = ?3, next_state = ?4, due_at = ?5, updated_at = ?6, version = ?7
         WHERE project_id = ?1 AND id = ?2",
        params![
            image.project_id,
            image.id,
            image.state.as_str(),
            next,
            due,
            image.updated_at.as_millis(),
            image.version as i64
        ],
    )?;
    Ok(())
}

// Operations.

/// How a resource reference is stored in an operation's `resources`.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredRef {
    kind: String,
    id: String,
}

/// The `SELECT` of an operation, without its `WHERE`.
macro_rules! operation_select {
    () => {
        "SELECT id, project_id, kind, resources, state, error, deadline_at, created_at,
    updated_at, finished_at, version FROM operations"
    };
}

fn operation_row(row: &Row<'_>) -> rusqlite::Result<Operation> {
    let stored: Vec<StoredRef> = json_col(row, 3)?;
    let resources = stored
        .into_iter()
        .map(|r| {
            r.kind
                .parse::<ResourceKind>()
                .map(|kind| ResourceRef { kind, id: r.id })
                .map_err(|e| rusqlite::Error::FromSqlConversionFailure(3, Type::Text, Box::new(e)))
        })
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let error: Option<String> = row.get(5)?;
    Ok(Operation {
        id: row.get(0)?,
        project_id: row.get(1)?,
        kind: row.get(2)?,
        resources,
        state: parse_col(row, 4)?,
        error: error.map(|json| decode_status(&json)),
        deadline_at: row.get::<_, Option<i64>>(6)?.map(Timestamp::from_millis),
        created_at: time_col(row, 7)?,
        updated_at: time_col(row, 8)?,
        finished_at: row.get::<_, Option<i64>>(9)?.map(Timestamp::from_millis),
        version: row.get::<_, i64>(10)? as u64,
    })
}

/// A Status kept as its AIP-193 JSON.
fn encode_status(status: &Status) -> String {
    String::from_utf8(canon::encode(status, canon::Encoding::Aip193).body).expect("JSON is UTF-8")
}

fn decode_status(json: &str) -> Status {
    let http_status: u16 =
        serde_json::from_str::<serde_json::Value>(json).ok().and_then(|v| v["code"].as_u64()).unwrap_or(500) as u16;
    canon::decode(http_status, &http::HeaderMap::new(), json.as_bytes()).status
}

pub(crate) fn operation(tx: &Connection, id: &str) -> Res<Option<Operation>> {
    one(tx, concat!(operation_select!(), " WHERE id = ?1"), [id], operation_row)
}

pub(crate) fn operations(tx: &Connection, project_id: &str) -> Res<Vec<Operation>> {
    all(
        tx,
        concat!(operation_select!(), " WHERE project_id = ?1 ORDER BY created_at, rowid"),
        [project_id],
        operation_row,
    )
}

fn open_operations(tx: &Connection) -> Res<Vec<Operation>> {
    all(tx, concat!(operation_select!(), " WHERE state IN ('PENDING', 'RUNNING') ORDER BY rowid"), [], operation_row)
}

pub(crate) fn insert_operation(tx: &Connection, op: &Operation) -> Res<()> {
    let stored: Vec<StoredRef> =
        op.resources.iter().map(|r| StoredRef { kind: r.kind.as_str().to_owned(), id: r.id.clone() }).collect();
    exec(
        tx,
        "INSERT INTO operations (id, project_id, kind, resources, state, error, deadline_at, created_at, updated_at,
            finished_at, version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            op.id,
            op.project_id,
            op.kind,
            serde_json::to_string(&stored).expect("strings serialize"),
            op.state.as_str(),
            op.error.as_ref().map(encode_status),
            op.deadline_at.map(Timestamp::as_millis),
            op.created_at.as_millis(),
            op.updated_at.as_millis(),
            op.finished_at.map(Timestamp::as_millis),
            op.version as i64,
        ],
    )?;
    Ok(())
}

/// Writes a changed operation, raising its version; `updated_at` is the
/// caller's.
pub(crate) fn save_operation(tx: &Connection, op: &mut Operation) -> Res<()> {
    op.version += 1;
    exec(
        tx,
        "UPDATE operations SET state = ?2, error = ?3, updated_at = ?4, finished_at = ?5, version = ?6 WHERE id = ?1",
        params![
            op.id,
            op.state.as_str(),
            op.error.as_ref().map(encode_status),
            op.updated_at.as_millis(),
            op.finished_at.map(Timestamp::as_millis),
            op.version as i64,
        ],
    )?;
    Ok(())
}

// Transitions, generically.

/// The statements of a table of resources with states.
struct StatefulTable {
    name: &'static str,
    state_row: &'static str,
    make_due: &'static str,
    set_state: &'static str,
    due: &'static str,
    advance: &'static str,
    delete: &'static str,
}

macro_rules! stateful_table {
    ($table:literal) => {
        StatefulTable {
            name: $table,
            state_row: concat!(
                "SELECT state, next_state, due_at, updated_at FROM ",
                $table,
                " WHERE project_id = ?1 AND id = ?2"
            ),
            make_due: concat!(
                "UPDATE ",
                $table,
                " SET due_at = ?3 WHERE project_id = ?1 AND id = ?2 AND next_state IS NOT NULL"
            ),
            set_state: concat!(
                "UPDATE ",
                $table,
                " SET state = ?3, next_state = NULL, due_at = NULL, updated_at = ?4, version = version + 1
                 WHERE project_id = ?1 AND id = ?2"
            ),
            due: concat!(
                "SELECT project_id, id, next_state, due_at FROM ",
                $table,
                " WHERE due_at IS NOT NULL AND due_at <= ?1 ORDER BY due_at, rowid"
            ),
            advance: concat!(
                "UPDATE ",
                $table,
                " SET state = next_state, next_state = NULL, due_at = NULL, updated_at = ?3,
                    version = version + 1 WHERE project_id = ?1 AND id = ?2"
            ),
            delete: concat!("DELETE FROM ", $table, " WHERE project_id = ?1 AND id = ?2"),
        }
    };
}

const VMS: StatefulTable = stateful_table!("vms");
const DISKS: StatefulTable = stateful_table!("disks");
const CLUSTERS: StatefulTable = stateful_table!("clusters");
const IMAGES: StatefulTable = stateful_table!("images");

/// The kinds of resource that have states, in the order a settle takes
/// them.
const STATEFUL: [(ResourceKind, &StatefulTable); 4] = [
    (ResourceKind::Vm, &VMS),
    (ResourceKind::Disk, &DISKS),
    (ResourceKind::Cluster, &CLUSTERS),
    (ResourceKind::Image, &IMAGES),
];

fn stateful(kind: ResourceKind) -> Option<&'static StatefulTable> {
    STATEFUL.iter().find(|(k, _)| *k == kind).map(|(_, table)| *table)
}

/// The table of a kind of resource that has states.
pub(crate) fn stateful_table(kind: ResourceKind) -> Option<&'static str> {
    stateful(kind).map(|table| table.name)
}

/// The failed state's name for a kind.
fn failed_state(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Cluster => ClusterState::Failed.as_str(),
        _ => "FAILED",
    }
}

/// A resource's state columns.
pub(crate) struct StateRow {
    pub(crate) state: String,
    pub(crate) next_state: Option<String>,
    pub(crate) due_at: Option<i64>,
    pub(crate) updated_at: i64,
}

pub(crate) fn state_row(tx: &Connection, kind: ResourceKind, project_id: &str, id: &str) -> Res<Option<StateRow>> {
    let Some(table) = stateful(kind) else { return Ok(None) };
    one(tx, table.state_row, [project_id, id], |r| {
        Ok(StateRow { state: r.get(0)?, next_state: r.get(1)?, due_at: r.get(2)?, updated_at: r.get(3)? })
    })
}

/// Makes a pending transition due now (an admin's "advance"). False when
/// there is none.
pub(crate) fn make_due(tx: &Connection, kind: ResourceKind, project_id: &str, id: &str, now: Timestamp) -> Res<bool> {
    let Some(table) = stateful(kind) else { return Ok(false) };
    exec_one(tx, table.make_due, params![project_id, id, now.as_millis()])
}

/// Sets a state outright, ending any transition (an admin's "set state").
pub(crate) fn force_state(
    tx: &Connection,
    kind: ResourceKind,
    project_id: &str,
    id: &str,
    state: &str,
    now: Timestamp,
) -> Res<bool> {
    let Some(table) = stateful(kind) else { return Ok(false) };
    exec_one(tx, table.set_state, params![project_id, id, state, now.as_millis()])
}

/// Removes a resource and what goes with it (a VM's boot disk; a VM's
/// other disks are detached).
fn remove(tx: &Connection, kind: ResourceKind, project_id: &str, id: &str) -> Res<()> {
    if kind == ResourceKind::Vm {
        exec(
            tx,
            "DELETE FROM disks WHERE project_id = ?1 AND vm_id = ?2 AND disk_type = 'DISK_TYPE_BOOT'",
            [project_id, id],
        )?;
        exec(
            tx,
            "UPDATE disks SET vm_id = NULL, attach_mode = NULL, attached_at = NULL, state = 'READY',
                version = version + 1
             WHERE project_id = ?1 AND vm_id = ?2",
            [project_id, id],
        )?;
    }
    let table = stateful(kind).expect("only resources with states are removed by transitions");
    exec(tx, table.delete, [project_id, id])?;
    Ok(())
}

/// What a settle did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Transitions completed (removals included).
    pub transitions: usize,
    /// Operations that finished.
    pub operations_finished: usize,
}

/// The earliest instant, in milliseconds, at which a settle could have
/// anything to do: the earliest `due_at` of any resource, `i64::MIN`
/// while an operation is open (its resources or its deadline may finish
/// it at any time), `i64::MAX` when nothing is scheduled. One query over
/// the partial indexes of due times and open operations.
pub(crate) fn due_from(tx: &Connection) -> Res<i64> {
    let earliest: Option<i64> = cached(
        tx,
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM operations WHERE state IN ('PENDING', 'RUNNING')) THEN ?1
             ELSE (SELECT MIN(due) FROM (
                 SELECT MIN(due_at) AS due FROM vms WHERE due_at IS NOT NULL
                 UNION ALL SELECT MIN(due_at) FROM disks WHERE due_at IS NOT NULL
                 UNION ALL SELECT MIN(due_at) FROM clusters WHERE due_at IS NOT NULL
                 UNION ALL SELECT MIN(due_at) FROM images WHERE due_at IS NOT NULL))
             END",
        [i64::MIN],
        |r| r.get(0),
    )?;
    Ok(earliest.unwrap_or(i64::MAX))
}

/// Applies every transition due at `now` and finishes the operations that
/// are done.
pub(crate) fn settle(tx: &Connection, now: Timestamp, errors: &Errors) -> Res<TickReport> {
    settle_and_look_ahead(tx, now, errors).map(|(report, _)| report)
}

/// [`settle`], and then [`due_from`]: when the next settle could have
/// anything to do. The common case, nothing due and no operation open,
/// costs one indexed query.
pub(crate) fn settle_and_look_ahead(tx: &Connection, now: Timestamp, errors: &Errors) -> Res<(TickReport, i64)> {
    let due = due_from(tx)?;
    if now.as_millis() < due {
        return Ok((TickReport::default(), due));
    }
    let report = apply_due(tx, now, errors)?;
    Ok((report, due_from(tx)?))
}

fn apply_due(tx: &Connection, now: Timestamp, errors: &Errors) -> Res<TickReport> {
    let mut report = TickReport::default();
    // Deadlines first: a resource due after its operation's deadline fails
    // at the deadline, even when `now` is past both.
    let mut open = open_operations(tx)?;
    for op in &mut open {
        let Some(deadline) = op.deadline_at.filter(|d| *d <= now) else { continue };
        let mut missed = false;
        for resource in &op.resources {
            let Some(row) = state_row(tx, resource.kind, &op.project_id, &resource.id)? else { continue };
            if row.next_state.is_some() && row.due_at.is_none_or(|due| due > deadline.as_millis()) {
                let table = stateful(resource.kind).expect("state rows come from stateful tables");
                exec(
                    tx,
                    table.set_state,
                    params![op.project_id, resource.id, failed_state(resource.kind), deadline.as_millis()],
                )?;
                report.transitions += 1;
                missed = true;
            }
        }
        if missed {
            op.state = OperationState::Failed;
            op.error = Some(errors.operation_deadline_exceeded(&op.id, &op.kind, deadline));
            op.finished_at = Some(deadline);
            op.updated_at = deadline;
            save_operation(tx, op)?;
            report.operations_finished += 1;
        }
    }

    for (kind, table) in STATEFUL {
        let due: Vec<(String, String, String, i64)> =
            all(tx, table.due, [now.as_millis()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        for (project_id, id, next_state, due_at) in due {
            if next_state == REMOVED {
                remove(tx, kind, &project_id, &id)?;
            } else {
                exec(tx, table.advance, params![project_id, id, due_at])?;
            }
            report.transitions += 1;
        }
    }

    for mut op in open_operations(tx)? {
        if evaluate_operation(tx, &mut op, now, errors)? {
            save_operation(tx, &mut op)?;
            if op.is_done() {
                report.operations_finished += 1;
            }
        }
    }
    Ok(report)
}

/// Brings an open operation's state in line with its resources. True when
/// it changed.
pub(crate) fn evaluate_operation(tx: &Connection, op: &mut Operation, now: Timestamp, errors: &Errors) -> Res<bool> {
    let mut settled = true;
    let mut scheduled = false;
    let mut removed = false;
    let mut latest = op.created_at.as_millis();
    for resource in &op.resources {
        let Some(row) = state_row(tx, resource.kind, &op.project_id, &resource.id)? else {
            removed = true;
            continue;
        };
        latest = latest.max(row.updated_at);
        if row.next_state.is_some() {
            settled = false;
            scheduled |= row.due_at.is_some();
        } else if row.state == failed_state(resource.kind) {
            op.state = OperationState::Failed;
            op.error = Some(errors.resource_failed(&op.id, resource.kind, &resource.id));
            op.finished_at = Some(Timestamp::from_millis(row.updated_at));
            op.updated_at = now;
            return Ok(true);
        }
    }
    let finished_at = if removed { now } else { Timestamp::from_millis(latest) };
    if settled {
        op.state = OperationState::Succeeded;
        op.finished_at = Some(finished_at);
        op.updated_at = finished_at;
        return Ok(true);
    }
    if scheduled && op.state == OperationState::Pending {
        op.state = OperationState::Running;
        op.updated_at = now;
        return Ok(true);
    }
    Ok(false)
}
