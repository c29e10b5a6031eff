//! The Vulkan loader and instance, with the validation layer (and
//! synchronization validation) and a messenger that records every
//! warning and error in a [`ValidationLog`].

use super::conv::vk_err;
use crate::error::RuntimeError;
use ash::vk;
use std::ffi::{c_void, CStr};
use std::sync::{Arc, Mutex};

const VALIDATION_LAYER: &CStr = c"VK_LAYER_KHRONOS_validation";

/// Every WARNING/ERROR message the validation layer reported.
///
/// Cloning shares the log; it outlives the [`Runtime`](crate::Runtime) so
/// messages emitted while destroying the device (leaks) are seen too.
#[derive(Clone, Debug, Default)]
pub struct ValidationLog(Arc<Mutex<Vec<String>>>);

impl ValidationLog {
    /// The recorded messages.
    pub fn messages(&self) -> Vec<String> {
        match self.0.lock() {
            Ok(v) => v.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// True if nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.messages().is_empty()
    }
}

unsafe extern "system" fn debug_callback(
    severity: vk::DebugUtilsMessageSeverityFlagsEXT,
    _types: vk::DebugUtilsMessageTypeFlagsEXT,
    data: *const vk::DebugUtilsMessengerCallbackDataEXT<'_>,
    user: *mut c_void,
) -> vk::Bool32 {
    let bad = vk::DebugUtilsMessageSeverityFlagsEXT::WARNING
        | vk::DebugUtilsMessageSeverityFlagsEXT::ERROR;
    if !severity.intersects(bad) || user.is_null() || data.is_null() {
        return vk::FALSE;
    }
    // SAFETY: `user` is the pointer to the `Mutex<Vec<String>>` inside the
    // `ValidationLog` Arc that `Context` keeps alive until after the
    // messenger is destroyed; `data` is valid for the duration of the call
    // (Vulkan spec), and its message is a NUL-terminated string or null.
    let (log, msg) = unsafe {
        let log = &*(user as *const Mutex<Vec<String>>);
        let d = &*data;
        let msg = if d.p_message.is_null() {
            String::from("(no message)")
        } else {
            CStr::from_ptr(d.p_message).to_string_lossy().into_owned()
        };
        (log, msg)
    };
    let line = format!("[{severity:?}] {msg}");
    if std::env::var_os("PTC_VALIDATION_QUIET").is_none() {
        eprintln!("ptc validation: {line}");
    }
    match log.lock() {
        Ok(mut v) => v.push(line),
        Err(p) => p.into_inner().push(line),
    }
    vk::FALSE
}

/// Loader + instance (+ validation messenger).
pub(crate) struct Context {
    entry: ash::Entry,
    pub(super) instance: ash::Instance,
    debug: Option<(ash::ext::debug_utils::Instance, vk::DebugUtilsMessengerEXT)>,
    log: ValidationLog,
}

impl Context {
    /// Loads `libvulkan.so.1` and creates an instance, with the validation
    /// layer (and synchronization validation) when `validate` is true.
    pub(crate) fn new(validate: bool) -> Result<Context, RuntimeError> {
        // SAFETY: loading the Vulkan loader library runs its initialisers;
        // the loader is a well-behaved system library.
        let entry =
            unsafe { ash::Entry::load() }.map_err(|e| RuntimeError::NoVulkan(e.to_string()))?;
        let app_name = c"ptc";
        let app = vk::ApplicationInfo::default()
            .application_name(app_name)
            .engine_name(app_name)
            .api_version(vk::API_VERSION_1_3);
        let mut layers: Vec<*const std::ffi::c_char> = Vec::new();
        let mut exts: Vec<*const std::ffi::c_char> = Vec::new();
        if validate {
            // SAFETY: plain enumeration call on a loaded entry.
            let props = unsafe { entry.enumerate_instance_layer_properties() }
                .map_err(vk_err("enumerating layers"))?;
            let found = props
                .iter()
                .any(|p| p.layer_name_as_c_str().ok() == Some(VALIDATION_LAYER));
            if !found {
                return Err(RuntimeError::NoValidationLayer);
            }
            layers.push(VALIDATION_LAYER.as_ptr());
            exts.push(ash::ext::debug_utils::NAME.as_ptr());
            exts.push(ash::ext::validation_features::NAME.as_ptr());
        }
        let enables = [vk::ValidationFeatureEnableEXT::SYNCHRONIZATION_VALIDATION];
        let mut features =
            vk::ValidationFeaturesEXT::default().enabled_validation_features(&enables);
        let mut info = vk::InstanceCreateInfo::default()
            .application_info(&app)
            .enabled_layer_names(&layers)
            .enabled_extension_names(&exts);
        if validate {
            info = info.push_next(&mut features);
        }
        // SAFETY: every pointer in `info` refers to locals alive for the call.
        let instance = unsafe { entry.create_instance(&info, None) }.map_err(|e| match e {
            // The loader found no driver (no ICD installed, or VK_DRIVER_FILES
            // names none): there is no device, as with an empty device list.
            vk::Result::ERROR_INCOMPATIBLE_DRIVER => RuntimeError::NoVulkan(
                "the Vulkan loader found no driver (VK_ERROR_INCOMPATIBLE_DRIVER)".into(),
            ),
            e => vk_err("creating the Vulkan instance")(e),
        })?;
        let log = ValidationLog::default();
        let debug = if validate {
            let du = ash::ext::debug_utils::Instance::new(&entry, &instance);
            let mi = vk::DebugUtilsMessengerCreateInfoEXT::default()
                .message_severity(
                    vk::DebugUtilsMessageSeverityFlagsEXT::WARNING
                        | vk::DebugUtilsMessageSeverityFlagsEXT::ERROR,
                )
                .message_type(
                    vk::DebugUtilsMessageTypeFlagsEXT::GENERAL
                        | vk::DebugUtilsMessageTypeFlagsEXT::VALIDATION
                        | vk::DebugUtilsMessageTypeFlagsEXT::PERFORMANCE,
                )
                .pfn_user_callback(Some(debug_callback))
                .user_data(Arc::as_ptr(&log.0) as *mut c_void);
            // SAFETY: the user-data pointer stays valid while `log` (owned by
            // the Context) lives; the messenger is destroyed before it in Drop.
            match unsafe { du.create_debug_utils_messenger(&mi, None) } {
                Ok(m) => Some((du, m)),
                Err(e) => {
                    // SAFETY: the instance was created above and has no children.
                    unsafe { instance.destroy_instance(None) };
                    return Err(vk_err("creating the debug messenger")(e));
                }
            }
        } else {
            None
        };
        Ok(Context {
            entry,
            instance,
            debug,
            log,
        })
    }

    pub(crate) fn log(&self) -> ValidationLog {
        self.log.clone()
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: the messenger and instance were created by this Context and
        // every child object (devices) was destroyed before (Gpu holds an Arc
        // to its Context). The log outlives the messenger.
        unsafe {
            if let Some((du, m)) = self.debug.take() {
                du.destroy_debug_utils_messenger(m, None);
            }
            self.instance.destroy_instance(None);
        }
        let _ = &self.entry;
    }
}
