// The dot product's subgroup reduction, appended to stream.wgsl on adapters with SUBGROUP (a
// module that names a subgroup builtin needs the feature, so it lives in its own file): each
// subgroup adds its invocations' sums in one subgroupAdd, and the workgroup's first invocation
// adds the subgroups' sums in subgroup order, in place of the tree's log2(WG) barriers.
@compute @workgroup_size(WG)
fn dot_subgroup(
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(subgroup_id) subgroup: u32,
    @builtin(num_subgroups) subgroups: u32,
    @builtin(subgroup_invocation_id) subgroup_lane: u32,
) {
    let sum = subgroupAdd(dot_invocation(id.x, groups.x * WG));
    if subgroup_lane == 0u {
        scratch[subgroup] = sum;
    }
    workgroupBarrier();
    if lane == 0u {
        var total = T(0.0);
        for (var s = 0u; s < subgroups; s++) {
            total += scratch[s];
        }
        partials[params.partial_base + group.x] = total;
    }
}
