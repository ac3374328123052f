//! Virtual MFA devices: created with their seed and QR code, enabled for a user by two
//! consecutive codes, listed, resynchronised, deactivated, deleted, tagged. STS checks their
//! codes for GetSessionToken and AssumeRole (`crate::mfa`).
use super::*;
use crate::mfa;
use crate::state::MfaDevice;
use nuage_protocol::iam::errors::Error as E;

fn no_device(serial: &str) -> AwsError {
    no_such_entity(format!("VirtualMFADevice with serial number {serial} doesn't exist."))
}

fn device_out(d: &MfaDevice, st: &AccountState, secrets: bool) -> m::VirtualMFADevice {
    m::VirtualMFADevice {
        serial_number: Some(d.serial.clone()),
        base32_string_seed: secrets.then(|| nuage_protocol::Blob(d.seed.clone().into_bytes())),
        qr_code_png: secrets.then(|| {
            let name = d.serial.rsplit('/').next().unwrap_or_default();
            let account = d.serial.split(':').nth(4).unwrap_or_default();
            nuage_protocol::Blob(mfa::qr_png(&format!("Amazon Web Services:{name}@{account}"), &d.seed))
        }),
        user: d.user.as_ref().and_then(|n| st.users.get(&ci(n))).map(user_out),
        enable_date: d.enabled.map(Timestamp),
        tags: tags_out(&d.tags),
    }
}

pub(super) async fn create_virtual_mfa_device(
    iam: &Iam,
    ctx: &RequestContext,
    i: m::CreateVirtualMFADeviceRequest,
) -> AwsResult<m::CreateVirtualMFADeviceResponse> {
    let account = caller_account(ctx)?.to_string();
    let name = required(&i.virtual_mfa_device_name, "VirtualMFADeviceName")?.to_string();
    let path = i.path.clone().unwrap_or_else(|| "/".into());
    check_path(&path)?;
    let tags = tags_in(i.tags)?;
    let serial = format!("arn:aws:iam::{account}:mfa{path}{name}");
    let device = iam
        .update(&account, move |st| {
            let clash =
                st.mfa_devices.keys().any(|s| s.rsplit('/').next().is_some_and(|n| n.eq_ignore_ascii_case(&name)));
            if clash {
                return Err(already_exists("MFADevice entity at the same path and name already exists."));
            }
            let d = MfaDevice {
                serial: serial.clone(),
                path,
                seed: mfa::new_seed(),
                user: None,
                enabled: None,
                tags,
                last_step: 0,
            };
            st.mfa_devices.insert(serial, d.clone());
            Ok(d)
        })
        .await?;
    let st = iam.account(&account);
    Ok(m::CreateVirtualMFADeviceResponse { virtual_mfa_device: Some(device_out(&device, &st, true)) })
}

fn now_secs() -> i64 {
    now_ms() / 1000
}

fn codes<'a>(a: &'a Option<String>, b: &'a Option<String>) -> AwsResult<(&'a str, &'a str)> {
    Ok((required(a, "AuthenticationCode1")?, required(b, "AuthenticationCode2")?))
}

fn bad_code() -> AwsError {
    E::InvalidAuthenticationCodeException.msg("Authentication code for device is not valid.")
}

pub(super) async fn enable_mfa_device(iam: &Iam, ctx: &RequestContext, i: m::EnableMFADeviceRequest) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let name = required(&i.user_name, "UserName")?.to_string();
    let serial = required(&i.serial_number, "SerialNumber")?.to_string();
    let (c1, c2) = codes(&i.authentication_code1, &i.authentication_code2)?;
    let (c1, c2) = (c1.to_string(), c2.to_string());
    iam.update(&account, move |st| {
        let user = st.users.get(&ci(&name)).ok_or_else(|| no_user(&name))?.name.clone();
        let held = st.mfa_devices.values().filter(|d| d.user.as_deref() == Some(user.as_str())).count();
        let d = st.mfa_devices.get_mut(&serial).ok_or_else(|| no_device(&serial))?;
        if d.user.is_some() {
            return Err(already_exists("MFA Device is already in use."));
        }
        if held >= 8 {
            return Err(limit_exceeded("Cannot exceed quota for MFADevicesPerUser: 8"));
        }
        let step = mfa::verify_pair(&d.seed, &c1, &c2, now_secs(), d.last_step).ok_or_else(bad_code)?;
        d.last_step = step;
        d.user = Some(user);
        d.enabled = Some(now_ms());
        Ok(())
    })
    .await
}

pub(super) async fn resync_mfa_device(iam: &Iam, ctx: &RequestContext, i: m::ResyncMFADeviceRequest) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let name = required(&i.user_name, "UserName")?.to_string();
    let serial = required(&i.serial_number, "SerialNumber")?.to_string();
    let (c1, c2) = codes(&i.authentication_code1, &i.authentication_code2)?;
    let (c1, c2) = (c1.to_string(), c2.to_string());
    iam.update(&account, move |st| {
        let d = assigned_mut(st, &name, &serial)?;
        d.last_step = mfa::verify_pair(&d.seed, &c1, &c2, now_secs(), d.last_step).ok_or_else(bad_code)?;
        Ok(())
    })
    .await
}

/// The device `serial` when it is enabled for user `name`.
fn assigned_mut<'a>(st: &'a mut AccountState, name: &str, serial: &str) -> AwsResult<&'a mut MfaDevice> {
    let user = st.users.get(&ci(name)).ok_or_else(|| no_user(name))?.name.clone();
    st.mfa_devices
        .get_mut(serial)
        .filter(|d| d.user.as_deref() == Some(user.as_str()))
        .ok_or_else(|| no_such_entity(format!("MFA Device with serial number {serial} does not exist.")))
}

pub(super) async fn deactivate_mfa_device(
    iam: &Iam,
    ctx: &RequestContext,
    i: m::DeactivateMFADeviceRequest,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let name = target_user(ctx, &i.user_name)?;
    let serial = required(&i.serial_number, "SerialNumber")?.to_string();
    iam.update(&account, move |st| {
        let d = assigned_mut(st, &name, &serial)?;
        d.user = None;
        d.enabled = None;
        Ok(())
    })
    .await
}

pub(super) async fn delete_virtual_mfa_device(
    iam: &Iam,
    ctx: &RequestContext,
    i: m::DeleteVirtualMFADeviceRequest,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let serial = required(&i.serial_number, "SerialNumber")?.to_string();
    iam.update(&account, move |st| {
        let d = st.mfa_devices.get(&serial).ok_or_else(|| no_device(&serial))?;
        if d.user.is_some() {
            return Err(delete_conflict("MFA Device is still in use."));
        }
        st.mfa_devices.remove(&serial);
        Ok(())
    })
    .await
}

pub(super) async fn list_mfa_devices(
    iam: &Iam,
    ctx: &RequestContext,
    i: m::ListMFADevicesRequest,
) -> AwsResult<m::ListMFADevicesResponse> {
    let st = iam.account(caller_account(ctx)?);
    let name = target_user(ctx, &i.user_name)?;
    let user = st.users.get(&ci(&name)).ok_or_else(|| no_user(&name))?;
    let devices: Vec<m::MFADevice> = st
        .mfa_devices
        .values()
        .filter(|d| d.user.as_deref() == Some(user.name.as_str()))
        .map(|d| m::MFADevice {
            user_name: Some(user.name.clone()),
            serial_number: Some(d.serial.clone()),
            enable_date: d.enabled.map(Timestamp),
        })
        .collect();
    let (items, truncated, marker) = page(devices, i.marker.as_deref(), i.max_items)?;
    Ok(m::ListMFADevicesResponse { mfa_devices: Some(items), is_truncated: Some(truncated), marker })
}

pub(super) async fn list_virtual_mfa_devices(
    iam: &Iam,
    ctx: &RequestContext,
    i: m::ListVirtualMFADevicesRequest,
) -> AwsResult<m::ListVirtualMFADevicesResponse> {
    let st = iam.account(caller_account(ctx)?);
    let status = i.assignment_status.as_deref().unwrap_or("Any");
    let devices: Vec<m::VirtualMFADevice> = st
        .mfa_devices
        .values()
        .filter(|d| match status {
            "Assigned" => d.user.is_some(),
            "Unassigned" => d.user.is_none(),
            _ => true,
        })
        .map(|d| device_out(d, &st, false))
        .collect();
    let (items, truncated, marker) = page(devices, i.marker.as_deref(), i.max_items)?;
    Ok(m::ListVirtualMFADevicesResponse { virtual_mfa_devices: Some(items), is_truncated: Some(truncated), marker })
}

pub(super) async fn get_mfa_device(
    iam: &Iam,
    ctx: &RequestContext,
    i: m::GetMFADeviceRequest,
) -> AwsResult<m::GetMFADeviceResponse> {
    let st = iam.account(caller_account(ctx)?);
    let serial = required(&i.serial_number, "SerialNumber")?;
    let name = target_user(ctx, &i.user_name)?;
    let d = st
        .mfa_devices
        .get(serial)
        .filter(|d| d.user.as_deref().is_some_and(|u| u.eq_ignore_ascii_case(&name)))
        .ok_or_else(|| no_such_entity(format!("MFA Device with serial number {serial} does not exist.")))?;
    Ok(m::GetMFADeviceResponse {
        user_name: d.user.clone(),
        serial_number: Some(d.serial.clone()),
        enable_date: d.enabled.map(Timestamp),
        certifications: None,
    })
}

fn device_mut<'a>(st: &'a mut AccountState, serial: &str) -> AwsResult<&'a mut MfaDevice> {
    st.mfa_devices.get_mut(serial).ok_or_else(|| no_device(serial))
}

pub(super) async fn tag_mfa_device(iam: &Iam, ctx: &RequestContext, i: m::TagMFADeviceRequest) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let serial = required(&i.serial_number, "SerialNumber")?.to_string();
    let tags = tags_in(i.tags)?;
    iam.update(&account, move |st| merge_tags(&mut device_mut(st, &serial)?.tags, tags)).await
}

pub(super) async fn untag_mfa_device(iam: &Iam, ctx: &RequestContext, i: m::UntagMFADeviceRequest) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let serial = required(&i.serial_number, "SerialNumber")?.to_string();
    let keys = i.tag_keys.unwrap_or_default();
    iam.update(&account, move |st| {
        device_mut(st, &serial)?.tags.retain(|t| !keys.iter().any(|k| k.eq_ignore_ascii_case(&t.key)));
        Ok(())
    })
    .await
}

pub(super) async fn list_mfa_device_tags(
    iam: &Iam,
    ctx: &RequestContext,
    i: m::ListMFADeviceTagsRequest,
) -> AwsResult<m::ListMFADeviceTagsResponse> {
    let st = iam.account(caller_account(ctx)?);
    let serial = required(&i.serial_number, "SerialNumber")?;
    let d = st.mfa_devices.get(serial).ok_or_else(|| no_device(serial))?;
    let (items, truncated, marker) = page(tags_out(&d.tags).unwrap_or_default(), i.marker.as_deref(), i.max_items)?;
    Ok(m::ListMFADeviceTagsResponse { tags: Some(items), is_truncated: Some(truncated), marker })
}
