//! Strongly connected components without recursion.
//!
//! petgraph's `tarjan_scc` recurses once per node on a path, so a legal
//! chain of 100,000 ptasks overflowed the stack. This Tarjan keeps its
//! depth-first search on an explicit stack: memory grows with the graph,
//! the call stack does not.

/// The strongly connected components of the directed graph with nodes
/// `0..succ.len()` and edges `v -> w` for each `w` in `succ[v]`, in the
/// order Tarjan's algorithm finds them (reverse topological order of the
/// condensation). Every node is in exactly one component.
pub fn tarjan(succ: &[Vec<usize>]) -> Vec<Vec<usize>> {
    const NEW: usize = usize::MAX;
    let n = succ.len();
    let mut index = vec![NEW; n];
    let mut low = vec![0usize; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<usize> = Vec::new();
    let mut comps = Vec::new();
    let mut next = 0usize;
    // The search path: (node, how many of its successors were visited).
    let mut path: Vec<(usize, usize)> = Vec::new();
    for root in 0..n {
        if index[root] != NEW {
            continue;
        }
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        path.push((root, 0));
        while let Some(top) = path.last_mut() {
            let (v, seen) = *top;
            if let Some(&w) = succ[v].get(seen) {
                top.1 += 1;
                if index[w] == NEW {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    path.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            path.pop();
            if let Some(&(u, _)) = path.last() {
                low[u] = low[u].min(low[v]);
            }
            if low[v] == index[v] {
                let mut comp = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    comp.push(w);
                    if w == v {
                        break;
                    }
                }
                comps.push(comp);
            }
        }
    }
    comps
}

#[cfg(test)]
mod tests {
    use super::tarjan;

    fn sorted(mut c: Vec<Vec<usize>>) -> Vec<Vec<usize>> {
        for x in &mut c {
            x.sort_unstable();
        }
        c.sort();
        c
    }

    #[test]
    fn finds_cycles_self_loops_and_singletons() {
        // 0 -> 1 -> 2 -> 0, 2 -> 3, 3 -> 3, 4 alone, 5 -> 4.
        let g = vec![vec![1], vec![2], vec![0, 3], vec![3], vec![], vec![4]];
        assert_eq!(
            sorted(tarjan(&g)),
            vec![vec![0, 1, 2], vec![3], vec![4], vec![5]]
        );
    }

    #[test]
    fn components_come_in_reverse_topological_order() {
        // 0 -> 1 -> 2: sinks first.
        let g = vec![vec![1], vec![2], vec![]];
        assert_eq!(tarjan(&g), vec![vec![2], vec![1], vec![0]]);
    }

    /// A million-node chain and a million-node cycle: a recursive search
    /// would need a stack frame per node (this test runs on a 2 MiB stack).
    #[test]
    fn long_chains_and_cycles_do_not_recurse() {
        let n = 1_000_000;
        let chain: Vec<Vec<usize>> = (0..n)
            .map(|i| if i + 1 < n { vec![i + 1] } else { vec![] })
            .collect();
        assert_eq!(tarjan(&chain).len(), n);
        let cycle: Vec<Vec<usize>> = (0..n).map(|i| vec![(i + 1) % n]).collect();
        let c = tarjan(&cycle);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].len(), n);
    }
}
