//! Compute pipelines, their layouts and their descriptor sets: the one
//! place the runtime creates pipeline state.

use super::conv::vk_err;
use super::device::Gpu;
use crate::error::RuntimeError;
use ash::vk;
use std::ffi::CString;

impl Gpu {
    /// Creates a descriptor-set layout of `n` storage buffers (bindings
    /// 0..n) and, with `uniform`, a uniform buffer at binding `n`.
    pub(crate) fn create_set_layout(
        &self,
        n: usize,
        uniform: bool,
    ) -> Result<vk::DescriptorSetLayout, RuntimeError> {
        let mut bindings: Vec<vk::DescriptorSetLayoutBinding> = (0..n as u32)
            .map(|i| {
                vk::DescriptorSetLayoutBinding::default()
                    .binding(i)
                    .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                    .descriptor_count(1)
                    .stage_flags(vk::ShaderStageFlags::COMPUTE)
            })
            .collect();
        if uniform {
            bindings.push(
                vk::DescriptorSetLayoutBinding::default()
                    .binding(n as u32)
                    .descriptor_type(vk::DescriptorType::UNIFORM_BUFFER)
                    .descriptor_count(1)
                    .stage_flags(vk::ShaderStageFlags::COMPUTE),
            );
        }
        let info = vk::DescriptorSetLayoutCreateInfo::default().bindings(&bindings);
        // SAFETY: valid create info.
        let l = unsafe { self.device.create_descriptor_set_layout(&info, None) }
            .map_err(vk_err("creating a descriptor set layout"))?;
        self.count_alloc(1);
        Ok(l)
    }

    /// Creates a pipeline layout with one set and an optional push-constant range.
    pub(crate) fn create_pipeline_layout(
        &self,
        set: vk::DescriptorSetLayout,
        push_bytes: u32,
    ) -> Result<vk::PipelineLayout, RuntimeError> {
        let sets = [set];
        let ranges = [vk::PushConstantRange::default()
            .stage_flags(vk::ShaderStageFlags::COMPUTE)
            .offset(0)
            .size(push_bytes)];
        let mut info = vk::PipelineLayoutCreateInfo::default().set_layouts(&sets);
        if push_bytes > 0 {
            info = info.push_constant_ranges(&ranges);
        }
        // SAFETY: valid create info.
        let l = unsafe { self.device.create_pipeline_layout(&info, None) }
            .map_err(vk_err("creating a pipeline layout"))?;
        self.count_alloc(1);
        Ok(l)
    }

    /// Creates a compute pipeline from SPIR-V words (already checked to be
    /// well-formed SPIR-V with a GLCompute entry point named `entry`: a
    /// validated plan's `ModuleInfo`).
    /// `dispatch_base`: the pipeline may be dispatched with a non-zero base
    /// workgroup (sliced dispatches; Vulkan 1.1 core).
    /// `spec`: specialization constant values (id, 32 bits), passed as
    /// `VkSpecializationInfo` (4 bytes each).
    pub(crate) fn create_compute_pipeline(
        &self,
        words: &[u32],
        entry: &str,
        layout: vk::PipelineLayout,
        dispatch_base: bool,
        spec: &[(u32, u32)],
    ) -> Result<vk::Pipeline, RuntimeError> {
        let entry = CString::new(entry)
            .map_err(|_| RuntimeError::InvalidPlan("entry point name contains NUL".into()))?;
        let sinfo = vk::ShaderModuleCreateInfo::default().code(words);
        // SAFETY: `words` is SPIR-V that plan validation reflected (spirq)
        // and whose compute entry point `entry` exists.
        let module = unsafe { self.device.create_shader_module(&sinfo, None) }
            .map_err(vk_err("creating a shader module"))?;
        let entries: Vec<vk::SpecializationMapEntry> = spec
            .iter()
            .enumerate()
            .map(|(i, (id, _))| {
                vk::SpecializationMapEntry::default()
                    .constant_id(*id)
                    .offset(4 * i as u32)
                    .size(4)
            })
            .collect();
        let data: Vec<u8> = spec.iter().flat_map(|(_, v)| v.to_le_bytes()).collect();
        let spec_info = vk::SpecializationInfo::default()
            .map_entries(&entries)
            .data(&data);
        let mut stage = vk::PipelineShaderStageCreateInfo::default()
            .stage(vk::ShaderStageFlags::COMPUTE)
            .module(module)
            .name(&entry);
        if !spec.is_empty() {
            stage = stage.specialization_info(&spec_info);
        }
        let flags = if dispatch_base {
            vk::PipelineCreateFlags::DISPATCH_BASE
        } else {
            vk::PipelineCreateFlags::empty()
        };
        let info = [vk::ComputePipelineCreateInfo::default()
            .flags(flags)
            .stage(stage)
            .layout(layout)];
        // SAFETY: module and layout are live; the cache belongs to this device.
        let r = unsafe {
            self.device
                .create_compute_pipelines(self.cache, &info, None)
        };
        // SAFETY: the module is no longer needed once the pipeline exists.
        unsafe { self.device.destroy_shader_module(module, None) };
        match r {
            Ok(p) => {
                self.count_alloc(1);
                p.into_iter().next().ok_or(RuntimeError::Vulkan {
                    what: "creating a pipeline",
                    result: vk::Result::ERROR_UNKNOWN,
                })
            }
            Err((_, e)) => Err(vk_err("creating a compute pipeline")(e)),
        }
    }

    pub(crate) fn destroy_pipeline(
        &self,
        p: vk::Pipeline,
        l: vk::PipelineLayout,
        s: vk::DescriptorSetLayout,
    ) {
        // SAFETY: callers destroy these after the GPU finished every use.
        unsafe {
            self.device.destroy_pipeline(p, None);
            self.device.destroy_pipeline_layout(l, None);
            self.device.destroy_descriptor_set_layout(s, None);
        }
    }

    /// Creates a descriptor pool for `sets` sets of up to `buffers` storage
    /// buffers and `uniforms` uniform buffers in total.
    pub(crate) fn create_descriptor_pool(
        &self,
        sets: u32,
        buffers: u32,
        uniforms: u32,
    ) -> Result<vk::DescriptorPool, RuntimeError> {
        let sizes = [
            vk::DescriptorPoolSize::default()
                .ty(vk::DescriptorType::STORAGE_BUFFER)
                .descriptor_count(buffers.max(1)),
            vk::DescriptorPoolSize::default()
                .ty(vk::DescriptorType::UNIFORM_BUFFER)
                .descriptor_count(uniforms.max(1)),
        ];
        let info = vk::DescriptorPoolCreateInfo::default()
            .max_sets(sets.max(1))
            .pool_sizes(&sizes);
        // SAFETY: valid create info.
        let p = unsafe { self.device.create_descriptor_pool(&info, None) }
            .map_err(vk_err("creating a descriptor pool"))?;
        self.count_alloc(1);
        Ok(p)
    }

    /// Allocates one set from `pool` and points binding i at `buffers[i]`
    /// (and binding `buffers.len()` at the `uniform` buffer, if any).
    pub(crate) fn allocate_set(
        &self,
        pool: vk::DescriptorPool,
        layout: vk::DescriptorSetLayout,
        buffers: &[vk::Buffer],
        uniform: Option<vk::Buffer>,
    ) -> Result<vk::DescriptorSet, RuntimeError> {
        let layouts = [layout];
        let info = vk::DescriptorSetAllocateInfo::default()
            .descriptor_pool(pool)
            .set_layouts(&layouts);
        // SAFETY: pool and layout are live; the pool was sized for every set.
        let set = unsafe { self.device.allocate_descriptor_sets(&info) }
            .map_err(vk_err("allocating a descriptor set"))?
            .into_iter()
            .next()
            .ok_or(RuntimeError::OutOfMemory("descriptor set".into()))?;
        self.count_alloc(1);
        let infos: Vec<[vk::DescriptorBufferInfo; 1]> = buffers
            .iter()
            .map(|b| {
                [vk::DescriptorBufferInfo::default()
                    .buffer(*b)
                    .offset(0)
                    .range(vk::WHOLE_SIZE)]
            })
            .collect();
        let uinfo: Vec<[vk::DescriptorBufferInfo; 1]> = uniform
            .iter()
            .map(|b| {
                [vk::DescriptorBufferInfo::default()
                    .buffer(*b)
                    .offset(0)
                    .range(vk::WHOLE_SIZE)]
            })
            .collect();
        let mut writes: Vec<vk::WriteDescriptorSet> = infos
            .iter()
            .enumerate()
            .map(|(i, bi)| {
                vk::WriteDescriptorSet::default()
                    .dst_set(set)
                    .dst_binding(i as u32)
                    .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                    .buffer_info(bi)
            })
            .collect();
        for bi in &uinfo {
            writes.push(
                vk::WriteDescriptorSet::default()
                    .dst_set(set)
                    .dst_binding(buffers.len() as u32)
                    .descriptor_type(vk::DescriptorType::UNIFORM_BUFFER)
                    .buffer_info(bi),
            );
        }
        // SAFETY: the set is not in use by any command buffer yet.
        unsafe { self.device.update_descriptor_sets(&writes, &[]) };
        Ok(set)
    }

    pub(crate) fn destroy_descriptor_pool(&self, p: vk::DescriptorPool) {
        // SAFETY: destroying the pool frees its sets; no pending command buffer uses them.
        unsafe { self.device.destroy_descriptor_pool(p, None) };
    }
}
