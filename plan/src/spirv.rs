//! The one place ptc inspects SPIR-V: [`reflect`] reads a compute kernel
//! with `spirq` and reduces it to what the kernel ABI and the runtime care
//! about (storage-buffer bindings, the push-constant block, the workgroup
//! size, the capabilities, i.e. device features, it declares, and whether
//! it reads `gl_NumWorkGroups`); [`to_base64`] / [`from_base64`] are the
//! form plans carry it in. The compiler's kernel checker and plan
//! validation both use it; the runtime uses what validation learnt
//! ([`ModuleInfo`](crate::ModuleInfo)) and never parses SPIR-V itself.

pub use crate::spec::{
    spec_constants, specialize, specialize_entry, SpecConstant, SpecType, Specialized,
};
use crate::types::Scalar;
use spirq::spirv::{BuiltIn, Capability, Decoration, Op};
use spirq::ty::{AccessType, DescriptorType, ScalarType, Type};
use spirq::var::Variable;

/// The SPIR-V magic number (first word of every module).
pub const MAGIC: u32 = 0x0723_0203;

/// Device features a kernel's SPIR-V declares it needs.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelFeatures {
    /// Capability `Int8` (`shaderInt8`).
    pub int8: bool,
    /// Capability `Int16` (`shaderInt16`).
    pub int16: bool,
    /// Capability `Int64` (`shaderInt64`).
    pub int64: bool,
    /// Capability `Float16` (`shaderFloat16`).
    pub float16: bool,
    /// Capability `Float64` (`shaderFloat64`).
    pub float64: bool,
    /// Capability `(UniformAnd)StorageBuffer8BitAccess`.
    pub storage_8bit: bool,
    /// Capability `(UniformAnd)StorageBuffer16BitAccess`.
    pub storage_16bit: bool,
    /// Subgroup operations its `GroupNonUniform*` capabilities use, as
    /// `VkSubgroupFeatureFlags` bits ([`subgroup_names`]).
    pub subgroup: u32,
}

/// `VkSubgroupFeatureFlagBits` by SPIR-V capability: `GroupNonUniform` →
/// basic (1), `Vote` 2, `Arithmetic` 4, `Ballot` 8, `Shuffle` 16,
/// `ShuffleRelative` 32, `Clustered` 64, `Quad` 128.
fn subgroup_bit(cap: Capability) -> u32 {
    match cap {
        Capability::GroupNonUniform => 1,
        Capability::GroupNonUniformVote => 2,
        Capability::GroupNonUniformArithmetic => 4,
        Capability::GroupNonUniformBallot => 8,
        Capability::GroupNonUniformShuffle => 16,
        Capability::GroupNonUniformShuffleRelative => 32,
        Capability::GroupNonUniformClustered => 64,
        Capability::GroupNonUniformQuad => 128,
        _ => 0,
    }
}

/// The names of the subgroup operations in `bits` (`VkSubgroupFeatureFlags`),
/// e.g. `basic, arithmetic`.
pub fn subgroup_names(bits: u32) -> String {
    const NAMES: [&str; 8] = [
        "basic",
        "vote",
        "arithmetic",
        "ballot",
        "shuffle",
        "shuffle_relative",
        "clustered",
        "quad",
    ];
    NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// How a descriptor binding is declared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BindingKind {
    /// A storage buffer with its access (from `readonly`/`writeonly`).
    Storage(Access),
    /// Anything else (uniform buffer, image, sampler...), described in words.
    Other(String),
}

/// Access of a storage buffer as declared.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// `readonly`.
    ReadOnly,
    /// `writeonly`.
    WriteOnly,
    /// Neither.
    ReadWrite,
}

/// The array a storage buffer's block ends with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArrayInfo {
    /// Member name (`a` in `buffer A { float a[]; }`).
    pub member: String,
    /// Byte offset of the array inside the block.
    pub offset: usize,
    /// Number of members of the block (1 for a plain array).
    pub block_members: usize,
    /// Element stride (ArrayStride decoration).
    pub stride: Option<usize>,
    /// Fixed length, `None` for a runtime array.
    pub len: Option<u32>,
    /// GLSL spelling of the element type.
    pub elem: String,
    /// For a struct element: (offset, size in bytes) of each member.
    pub struct_fields: Option<Vec<(usize, Option<usize>)>>,
}

/// A descriptor binding of the kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindingInfo {
    /// Descriptor set.
    pub set: u32,
    /// Binding number in the set.
    pub binding: u32,
    /// Block (or variable) name for messages.
    pub name: String,
    /// What kind of descriptor it is.
    pub kind: BindingKind,
    /// `None` if the block does not end with an array (or is not a block).
    pub array: Option<ArrayInfo>,
}

/// A member of the push-constant block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushMember {
    /// Member name (or `member N`).
    pub name: String,
    /// Byte offset in the block.
    pub offset: usize,
    /// The scalar type, or the GLSL spelling of a non-scalar member.
    pub ty: Result<Scalar, String>,
}

/// The reflected interface of a compute kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    /// Name of the (first) GLCompute entry point.
    pub entry: String,
    /// Descriptor bindings, sorted by (set, binding).
    pub bindings: Vec<BindingInfo>,
    /// `None` if the kernel has no push-constant block.
    pub push: Option<Vec<PushMember>>,
    /// Size in bytes of the push-constant block (0 if there is none).
    pub push_constant_bytes: u32,
    /// `local_size_{x,y,z}`, or why it could not be read.
    pub local_size: Result<[u32; 3], String>,
    /// Device features its capabilities need.
    pub features: KernelFeatures,
    /// Whether it reads `gl_NumWorkGroups` (a variable decorated `BuiltIn
    /// NumWorkgroups`): a dispatch split into slices would see each
    /// slice's size there, so the runtime never slices such a kernel.
    pub reads_num_workgroups: bool,
    /// Its specialization constants, by id.
    pub spec_constants: Vec<SpecConstant>,
    /// The spec constant id that sets each workgroup dimension
    /// (`local_size_x_id`...), if any; `local_size` holds the defaults.
    pub local_size_ids: [Option<u32>; 3],
    /// Bytes of `shared` (Workgroup) memory with the spec constants' defaults.
    pub shared_memory_bytes: u64,
    /// Its uniform-buffer blocks (also listed in `bindings`), with members.
    pub uniforms: Vec<UniformBlock>,
}

/// A uniform-buffer block of a kernel (a ptask's params may fill one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UniformBlock {
    /// Descriptor set.
    pub set: u32,
    /// Binding in the set.
    pub binding: u32,
    /// Its members, with std140 offsets as the kernel declares them.
    pub members: Vec<PushMember>,
    /// Size in bytes: the end of its last member.
    pub bytes: u32,
}

/// Reflects SPIR-V words. Errors are messages for a diagnostic.
///
/// One pass over the instructions (spirq's parser) collects the
/// capabilities and built-in decorations and refuses opcodes SPIR-V does
/// not define (spirq's reflection would panic on one); spirq's reflection
/// then reads the entry point and its resources.
pub fn reflect(words: &[u32]) -> Result<Interface, String> {
    reflect_entry(words, None)
}

/// [`reflect`] for the GLCompute entry point named `entry` (the first if
/// `None`).
pub fn reflect_entry(words: &[u32], entry: Option<&str>) -> Result<Interface, String> {
    if words.len() < 5 || words[0] != MAGIC {
        return Err("not a SPIR-V module (no SPIR-V header)".into());
    }
    let scan = scan(words)?;
    let eps = spirq::ReflectConfig::new()
        .spv(crate::spec::without_spec_ops(words)?)
        .ref_all_rscs(true)
        .reflect()
        .map_err(|e| format!("cannot reflect the compiled SPIR-V: {e}"))?;
    let compute = |e: &&spirq::entry_point::EntryPoint| {
        e.exec_model == spirq::spirv::ExecutionModel::GLCompute
    };
    let ep = match entry {
        None => eps
            .iter()
            .find(compute)
            .ok_or("the kernel has no compute entry point")?,
        Some(name) => eps
            .iter()
            .filter(compute)
            .find(|e| e.name == name)
            .ok_or_else(|| {
                let names: Vec<String> = eps
                    .iter()
                    .filter(compute)
                    .map(|e| format!("`{}`", e.name))
                    .collect();
                if names.is_empty() {
                    "the kernel has no compute entry point".to_string()
                } else {
                    format!(
                        "the kernel has no compute entry point `{name}` (it has {})",
                        names.join(", ")
                    )
                }
            })?,
    };
    let mut bindings = Vec::new();
    let mut push = None;
    let mut push_constant_bytes = 0;
    let mut uniforms = Vec::new();
    for var in &ep.vars {
        match var {
            Variable::Descriptor {
                name,
                desc_bind,
                desc_ty,
                ty,
                ..
            } => {
                let kind = match desc_ty {
                    DescriptorType::StorageBuffer(a) => BindingKind::Storage(match a {
                        AccessType::ReadOnly => Access::ReadOnly,
                        AccessType::WriteOnly => Access::WriteOnly,
                        AccessType::ReadWrite => Access::ReadWrite,
                    }),
                    other => BindingKind::Other(descriptor_kind(other).to_string()),
                };
                let block_name = match ty {
                    Type::Struct(s) => s.name.clone(),
                    _ => None,
                };
                if let DescriptorType::UniformBuffer() = desc_ty {
                    uniforms.push(UniformBlock {
                        set: desc_bind.set(),
                        binding: desc_bind.bind(),
                        members: members_of(ty),
                        bytes: block_bytes(ty),
                    });
                }
                bindings.push(BindingInfo {
                    set: desc_bind.set(),
                    binding: desc_bind.bind(),
                    name: block_name
                        .or_else(|| name.clone())
                        .filter(|n| !n.is_empty())
                        .unwrap_or_else(|| "<unnamed>".to_string()),
                    kind,
                    array: array_info(ty),
                });
            }
            Variable::PushConstant { ty, .. } => {
                push_constant_bytes = block_bytes(ty);
                push = Some(members_of(ty));
            }
            _ => {}
        }
    }
    bindings.sort_by_key(|b| (b.set, b.binding));
    let spec = crate::spec::specialize_entry(words, Some(&ep.name), &[])?;
    Ok(Interface {
        entry: ep.name.clone(),
        bindings,
        push,
        push_constant_bytes,
        local_size: spec.local_size,
        features: scan.features,
        reads_num_workgroups: scan.reads_num_workgroups,
        spec_constants: crate::spec::spec_constants(words)?,
        local_size_ids: spec.local_size_ids,
        shared_memory_bytes: spec.shared_memory_bytes,
        uniforms,
    })
}

/// The members of a block (push constants, uniform buffer).
fn members_of(ty: &Type) -> Vec<PushMember> {
    let mut members = Vec::new();
    if let Type::Struct(s) = ty {
        for (i, m) in s.members.iter().enumerate() {
            members.push(PushMember {
                name: m.name.clone().unwrap_or_else(|| format!("member {i}")),
                offset: m.offset.unwrap_or(0),
                ty: match &m.ty {
                    Type::Scalar(s) => scalar_of(s).ok_or_else(|| glsl_name(&m.ty)),
                    other => Err(glsl_name(other)),
                },
            });
        }
    }
    members
}

/// Size in bytes of a push-constant block: the end of its last member.
fn block_bytes(ty: &Type) -> u32 {
    let end = match ty {
        Type::Struct(s) => s
            .members
            .iter()
            .map(|m| m.offset.unwrap_or(0) + m.ty.nbyte().unwrap_or(0))
            .max()
            .unwrap_or(0),
        other => other.nbyte().unwrap_or(0),
    };
    u32::try_from(end).unwrap_or(u32::MAX)
}

/// What one pass over a module's instructions finds.
struct Scan {
    features: KernelFeatures,
    reads_num_workgroups: bool,
}

fn scan(words: &[u32]) -> Result<Scan, String> {
    let mut out = Scan {
        features: KernelFeatures::default(),
        reads_num_workgroups: false,
    };
    let f = &mut out.features;
    let bin = spirq::parse::SpirvBinary::from(words);
    let bad = |e: spirq::error::Error| format!("malformed SPIR-V: {e}");
    let mut instrs = bin.instrs().map_err(bad)?;
    while let Some(i) = instrs.next().map_err(bad)? {
        // `Instr::op` (and spirq's reflection) panic on an opcode SPIR-V
        // does not define: refuse those here.
        let Some(op) = Op::from_u32(i.opcode()) else {
            return Err(format!("malformed SPIR-V: unknown opcode {}", i.opcode()));
        };
        let mut operands = i.operands();
        match op {
            Op::Capability => {
                let Ok(cap) = operands.read_u32() else {
                    continue;
                };
                match Capability::from_u32(cap) {
                    Some(Capability::Int8) => f.int8 = true,
                    Some(Capability::Int16) => f.int16 = true,
                    Some(Capability::Int64) => f.int64 = true,
                    Some(Capability::Float16) => f.float16 = true,
                    Some(Capability::Float64) => f.float64 = true,
                    Some(
                        Capability::StorageBuffer8BitAccess
                        | Capability::UniformAndStorageBuffer8BitAccess,
                    ) => f.storage_8bit = true,
                    Some(
                        Capability::StorageBuffer16BitAccess
                        | Capability::UniformAndStorageBuffer16BitAccess,
                    ) => f.storage_16bit = true,
                    Some(c) => f.subgroup |= subgroup_bit(c),
                    None => {}
                }
            }
            // OpDecorate %target BuiltIn NumWorkgroups
            Op::Decorate => {
                let (Ok(_target), Ok(deco), Ok(builtin)) =
                    (operands.read_id(), operands.read_u32(), operands.read_u32())
                else {
                    continue;
                };
                if Decoration::from_u32(deco) == Some(Decoration::BuiltIn)
                    && BuiltIn::from_u32(builtin) == Some(BuiltIn::NumWorkgroups)
                {
                    out.reads_num_workgroups = true;
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

fn array_info(ty: &Type) -> Option<ArrayInfo> {
    let Type::Struct(block) = ty else { return None };
    let last = block.members.last()?;
    let Type::Array(arr) = &last.ty else {
        return None;
    };
    let struct_fields = match &*arr.element_ty {
        Type::Struct(s) => Some(
            s.members
                .iter()
                .map(|m| (m.offset.unwrap_or(0), m.ty.nbyte()))
                .collect(),
        ),
        _ => None,
    };
    Some(ArrayInfo {
        member: last.name.clone().unwrap_or_default(),
        offset: last.offset.unwrap_or(0),
        block_members: block.members.len(),
        stride: arr.stride,
        len: arr.nelement,
        elem: glsl_name(&arr.element_ty),
        struct_fields,
    })
}

/// Our scalar type for a SPIR-V scalar, if ptc has one.
pub fn scalar_of(s: &ScalarType) -> Option<Scalar> {
    Some(match s {
        ScalarType::Integer {
            bits: 8,
            is_signed: false,
        } => Scalar::U8,
        ScalarType::Integer {
            bits: 16,
            is_signed: false,
        } => Scalar::U16,
        ScalarType::Integer {
            bits: 32,
            is_signed: false,
        } => Scalar::U32,
        ScalarType::Integer {
            bits: 32,
            is_signed: true,
        } => Scalar::I32,
        ScalarType::Float { bits: 32 } => Scalar::F32,
        _ => return None,
    })
}

fn glsl_scalar(s: &ScalarType) -> String {
    match s {
        ScalarType::Void => "void".into(),
        ScalarType::Boolean => "bool".into(),
        ScalarType::Integer {
            bits: 32,
            is_signed,
        } => if *is_signed { "int" } else { "uint" }.into(),
        ScalarType::Integer { bits, is_signed } => {
            format!("{}int{bits}_t", if *is_signed { "" } else { "u" })
        }
        ScalarType::Float { bits: 32 } => "float".into(),
        ScalarType::Float { bits: 64 } => "double".into(),
        ScalarType::Float { bits } => format!("float{bits}_t"),
    }
}

/// The GLSL spelling of a reflected type (for messages).
pub fn glsl_name(ty: &Type) -> String {
    match ty {
        Type::Scalar(s) => glsl_scalar(s),
        Type::Vector(v) => {
            let prefix = match v.scalar_ty {
                ScalarType::Float { bits: 32 } => "",
                ScalarType::Float { bits: 64 } => "d",
                ScalarType::Integer {
                    bits: 32,
                    is_signed: true,
                } => "i",
                ScalarType::Integer {
                    bits: 32,
                    is_signed: false,
                } => "u",
                ScalarType::Boolean => "b",
                ScalarType::Integer {
                    bits,
                    is_signed: true,
                } => return format!("i{bits}vec{}", v.nscalar),
                ScalarType::Integer {
                    bits,
                    is_signed: false,
                } => return format!("u{bits}vec{}", v.nscalar),
                ScalarType::Float { bits } => return format!("f{bits}vec{}", v.nscalar),
                ScalarType::Void => "void",
            };
            format!("{prefix}vec{}", v.nscalar)
        }
        Type::Matrix(m) => format!("mat{}x{}", m.nvector, m.vector_ty.nscalar),
        Type::Struct(s) => format!("struct {}", s.name.as_deref().unwrap_or("<unnamed>")),
        Type::Array(a) => match a.nelement {
            Some(n) => format!("{}[{n}]", glsl_name(&a.element_ty)),
            None => format!("{}[]", glsl_name(&a.element_ty)),
        },
        other => format!("{other:?}").chars().take(40).collect(),
    }
}

fn descriptor_kind(d: &DescriptorType) -> &'static str {
    match d {
        DescriptorType::Sampler() => "a sampler",
        DescriptorType::CombinedImageSampler() => "a combined image sampler",
        DescriptorType::SampledImage() => "a sampled image",
        DescriptorType::StorageImage(_) => "a storage image",
        DescriptorType::UniformTexelBuffer() => "a uniform texel buffer",
        DescriptorType::StorageTexelBuffer(_) => "a storage texel buffer",
        DescriptorType::UniformBuffer() => "a uniform buffer",
        DescriptorType::StorageBuffer(_) => "a storage buffer",
        DescriptorType::InputAttachment(_) => "an input attachment",
        DescriptorType::AccelStruct() => "an acceleration structure",
    }
}

/// Encodes SPIR-V words as base64 of their little-endian bytes (the form
/// [`Module::spirv`](crate::Module::spirv) holds).
pub fn to_base64(words: &[u32]) -> String {
    use base64::Engine;
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The environment ptc's kernels are compiled for and validated against:
/// Vulkan 1.2 (SPIR-V 1.5), as the compiler's shaderc options say.
pub const TARGET_ENV: &str = "Vulkan 1.2 (SPIR-V 1.5)";

/// Largest message kept from the validator (its notes can quote a long
/// disassembled instruction).
const MAX_VALIDATOR_MESSAGE: usize = 1000;

/// Runs the SPIRV-Tools validator (`spirv-val --target-env vulkan1.2`,
/// default options) over `words`. A driver may crash, or report
/// `VK_ERROR_UNKNOWN`, on a module the validator refuses, so nothing is
/// given to Vulkan that has not passed here. The error is the validator's
/// own message (`error: line 0: ...` as spirv-val prints it, one line).
pub fn validate(words: &[u32]) -> Result<(), String> {
    use spirv_tools::val::Validator;
    let v =
        spirv_tools::val::compiled::CompiledValidator::with_env(spirv_tools::TargetEnv::Vulkan_1_2);
    v.validate(words, None).map_err(|e| {
        let mut msg = match &e.diagnostic {
            Some(d) => {
                let mut m = d.message.trim().to_string();
                let notes = d.notes.trim();
                if !notes.is_empty() {
                    m.push_str(" (");
                    m.push_str(notes);
                    m.push(')');
                }
                m
            }
            None => format!("the validator refused it ({})", e.inner),
        };
        msg = msg.split_whitespace().collect::<Vec<_>>().join(" ");
        if msg.len() > MAX_VALIDATOR_MESSAGE {
            let mut cut = MAX_VALIDATOR_MESSAGE;
            while !msg.is_char_boundary(cut) {
                cut -= 1;
            }
            msg.truncate(cut);
            msg.push_str("...");
        }
        format!("invalid SPIR-V for {TARGET_ENV}: {msg}")
    })
}

/// Decodes base64 SPIR-V and checks its length and magic number.
pub fn from_base64(text: &str) -> Result<Vec<u32>, String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| format!("not valid base64 ({e})"))?;
    if bytes.len() < 20 || bytes.len() % 4 != 0 {
        return Err(format!("{} bytes is not a SPIR-V module", bytes.len()));
    }
    let words: Vec<u32> = bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if words[0] != MAGIC {
        return Err(format!("bad SPIR-V magic number {:#010x}", words[0]));
    }
    Ok(words)
}
