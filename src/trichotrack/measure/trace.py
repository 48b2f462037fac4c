"""Trace hairs on a skeleton: a graph of branches and junctions, ends paired through crossings.

A skeleton of crossing hairs falls apart into branches that meet at junctions. At each junction (or a
cluster of junctions a few pixels apart, as a shallow crossing gives) the branch ends are paired by
direction: a crossing of two hairs has four ends that pair into two straight-through pairs, a hair whose
end touches another's side leaves its end free, and a hair bent back on itself at a sharp kink (its two
arms running into one short stem that ends free) goes out along the stem and back. Paired branches are
then chained end to end into hairs, so a hair that crosses another, or loops over itself, stays one hair.
Ends of hairs that stop close to each other and point at each other (a faint stretch the detector missed)
are joined as well.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, depth_first_order
from scipy.spatial import cKDTree

# Four-neighbours first, then the diagonals.
_OFFSETS = ((-1, 0), (0, 1), (1, 0), (0, -1), (-1, 1), (1, 1), (1, -1), (-1, -1))


@dataclass(frozen=True)
class Traced:
    """Hairs traced on a skeleton, in the skeleton's pixel coordinates.

    Attributes
    ----------
    paths : tuple of (K, 2) ndarray of float
        Centre line of each hair, ordered from one end to the other (rows, columns).
    closed : tuple of bool
        The hair's chain closes on itself (no free end).
    ends_at_junction : tuple of (bool, bool)
        Each end of the hair stops at a junction (touching another hair) rather than in the open.
    crossings : tuple of int
        Crossings each hair passes through.
    crossings_rc : (C, 2) ndarray of float
        Positions of crossings (junctions through which two or more hairs pass).
    junctions_rc : (J, 2) ndarray of float
        Positions of all junction zones.
    n_ambiguous : int
        Junction zones whose pairing is unclear (near tie, sharp turn, or too many ends).
    n_unpaired_ends : int
        Branch ends left free at a junction (a hair ending on another, or a pairing refused).
    n_weak_joins : int
        Gap joins of free ends that were close calls.
    n_near_misses : int
        Pairs of free ends close enough to be one hair with a gap, but not joined.
    """

    paths: tuple[np.ndarray, ...]
    closed: tuple[bool, ...]
    ends_at_junction: tuple[tuple[bool, bool], ...]
    crossings: tuple[int, ...]
    crossings_rc: np.ndarray
    junctions_rc: np.ndarray
    n_ambiguous: int
    n_unpaired_ends: int
    n_weak_joins: int
    n_near_misses: int


def pixel_graph(skeleton):
    """Neighbour table of skeleton pixels, without the diagonal short-cuts of staircases.

    Parameters
    ----------
    skeleton : (M, N) ndarray of bool

    Returns
    -------
    coords : (P, 2) ndarray of int
        Row and column of each skeleton pixel.
    neighbours : (P, 8) ndarray of int32
        Indices of the neighbours of each pixel, valid ones first (in the order of `_OFFSETS`), -1 after.
    degree : (P,) ndarray of int
    """
    sk = np.pad(np.asarray(skeleton, bool), 1)
    width = sk.shape[1]
    flat = np.flatnonzero(sk)
    n_px = len(flat)
    index = np.full(sk.size, -1, np.int32)
    index[flat] = np.arange(n_px, dtype=np.int32)
    nb = np.empty((n_px, 8), np.int32)
    for k, (dr, dc) in enumerate(_OFFSETS):
        nb[:, k] = index[flat + (dr * width + dc)]
    del index
    rr, cc = np.divmod(flat, width)
    four = nb[:, :4] >= 0
    for k, (dr, dc) in enumerate(_OFFSETS[4:], start=4):
        # A diagonal step is redundant when a four-neighbour path of two steps exists.
        nb[four[:, 0 if dr < 0 else 2] | four[:, 1 if dc > 0 else 3], k] = -1
    rr -= 1
    cc -= 1
    valid = nb >= 0
    degree = valid.sum(axis=1)
    # Valid neighbours first, keeping their order (a stable sort of the -1s to the back).
    rank = np.cumsum(valid, axis=1) - 1
    packed = np.full((n_px, 8), -1, np.int32)
    rows = np.nonzero(valid)[0]
    packed[rows, rank[valid]] = nb[valid]
    coords = np.stack([rr, cc], axis=1)
    return coords, packed, degree


def _branches(nb, degree):
    """Branches of the skeleton between node pixels (junction clusters and free ends), and closed loops.

    A branch runs from a node pixel through pixels of degree two to the next node pixel; two node pixels of
    different nodes side by side make a branch of two pixels. Branches come in the order in which a walk
    from the node pixels (by index, then by neighbour) first meets them, and run from that node.

    Returns
    -------
    node_of : (P,) ndarray of int
        Node of each pixel, -1 for pixels on branches.
    n_clusters, n_nodes : int
        Junction clusters are nodes ``0 .. n_clusters - 1``, free ends the nodes after them.
    branch_u, branch_v : (B,) ndarray of int
        Node at the start and at the end of each branch.
    branch_px, branch_offset, branch_size : ndarray of int
        Pixel indices along all branches, one after the other, each with its two node pixels:
        ``branch_px[branch_offset[b] : branch_offset[b] + branch_size[b]]`` is branch b.
    loops : list of (K,) ndarray of int
        Closed loops that meet no node, each pixel once.
    """
    n_px = len(degree)
    junction = degree >= 3
    jidx = np.flatnonzero(junction)
    # Junction clusters: junction pixels joined by skeleton edges.
    node_of = np.full(n_px, -1, np.int64)
    n_clusters = 0
    if len(jidx):
        local = np.full(n_px, -1, np.int64)
        local[jidx] = np.arange(len(jidx))
        src = np.repeat(jidx, 8)
        dst = nb[jidx].ravel()
        ok = dst >= 0
        src, dst = src[ok], dst[ok]
        ok = junction[dst]
        src, dst = local[src[ok]], local[dst[ok]]
        graph = coo_matrix((np.ones(len(src)), (src, dst)), shape=(len(jidx), len(jidx)))
        n_clusters, labels = connected_components(graph, directed=False)
        node_of[jidx] = labels
    eidx = np.flatnonzero(degree == 1)
    node_of[eidx] = n_clusters + np.arange(len(eidx))
    n_nodes = n_clusters + len(eidx)
    is_node = node_of >= 0
    chain = ~is_node & (degree == 2)  # pixels inside a branch or a loop: exactly two neighbours

    # Every (node pixel, neighbour) in walking order: node pixels by index, neighbours in table order.
    nidx = np.flatnonzero(is_node)
    slots = nb[nidx]
    rows, ks = np.nonzero(slots >= 0)
    enc_p = nidx[rows]
    enc_q = slots[rows, ks].astype(np.int64)
    # Two node pixels of different nodes side by side: a branch of two pixels (once, from the lower index).
    direct = is_node[enc_q] & (node_of[enc_q] != node_of[enc_p]) & (enc_p < enc_q)

    # Runs of chain pixels: connected components over the edges between chain pixels.
    cidx = np.flatnonzero(chain)
    a, b = nb[cidx, 0].astype(np.int64), nb[cidx, 1].astype(np.int64)
    src = np.r_[cidx[chain[a]], cidx[chain[b]]]
    dst = np.r_[a[chain[a]], b[chain[b]]]
    graph = coo_matrix((np.ones(len(src)), (src, dst)), shape=(n_px, n_px)).tocsr()
    n_comp, comp = connected_components(graph, directed=False)
    # A run is walked from the first (node pixel, neighbour) that reaches it.
    to_chain = np.flatnonzero(chain[enc_q])
    first_comp, first_at = np.unique(comp[enc_q[to_chain]], return_index=True)
    first_at = to_chain[first_at]
    reached = np.zeros(n_comp, bool)
    reached[first_comp] = True
    # Runs no node reaches are closed loops: walked from their lowest pixel towards its first neighbour.
    loop_comp, loop_start = np.unique(comp[cidx], return_index=True)
    keep = ~reached[loop_comp] & chain[cidx[loop_start]]
    loop_comp, loop_start = loop_comp[keep], cidx[loop_start[keep]]
    starts = np.r_[enc_q[first_at], loop_start]
    n_runs = len(first_comp)
    run_rank = np.full(n_comp, -1, np.int64)
    run_rank[first_comp] = np.arange(n_runs)
    run_rank[loop_comp] = n_runs + np.arange(len(loop_comp))
    # A loop is cut between its first pixel and that pixel's second neighbour, where its walk ends.
    loop_end = nb[loop_start, 1].astype(np.int64)
    if len(loop_start):
        cut = np.r_[loop_start * n_px + loop_end, loop_end * n_px + loop_start]
        keep_edge = ~np.isin(src * n_px + dst, cut)
        src, dst = src[keep_edge], dst[keep_edge]
    # The other end of each run: its end pixels (fewer than two neighbours in the run) other than its start.
    run_degree = np.bincount(src, minlength=n_px)
    # (A run has two end pixels, or one: a run of one pixel.)
    end_px = cidx[run_degree[cidx] < 2]
    end_comp = comp[end_px]
    _, at_first = np.unique(end_comp, return_index=True)
    _, at_last = np.unique(end_comp[::-1], return_index=True)
    one_end = np.full(n_comp, -1, np.int64)
    other_end = np.full(n_comp, -1, np.int64)
    one_end[end_comp[at_first]] = end_px[at_first]
    other_end[end_comp[::-1][at_last]] = end_px[::-1][at_last]
    run_comp = np.r_[first_comp, loop_comp]
    a_end, b_end = one_end[run_comp], other_end[run_comp]
    other = np.where(a_end != starts, a_end, b_end)
    # Chained end to start, the runs make one path: its depth-first order walks them one after the other,
    # each from its first pixel to its other end.
    src = np.r_[src, other[:-1]]
    dst = np.r_[dst, starts[1:]]
    if len(starts):
        graph = coo_matrix((np.ones(len(src)), (src, dst)), shape=(n_px, n_px)).tocsr()
        walk = depth_first_order(graph, starts[0], directed=False, return_predecessors=False)
    else:
        walk = np.zeros(0, np.int64)
    walk_rank = run_rank[comp[walk]]
    run_size = np.bincount(walk_rank, minlength=len(starts))
    run_start = np.cumsum(run_size) - run_size
    loops = np.split(walk[run_start[n_runs] :], np.cumsum(run_size[n_runs:])[:-1]) if len(loop_comp) else []

    # Branches through runs: the node pixel, the run, and the node pixel after its last pixel.
    p0 = enc_p[first_at]
    lasts = walk[run_start[:n_runs] + run_size[:n_runs] - 1]
    before = np.where(
        run_size[:n_runs] > 1, walk[np.maximum(run_start[:n_runs] + run_size[:n_runs] - 2, 0)], p0
    )
    n1, n2 = nb[lasts, 0].astype(np.int64), nb[lasts, 1].astype(np.int64)
    p1 = np.where(n1 != before, n1, n2)
    direct_at = np.flatnonzero(direct)
    at = np.r_[first_at, direct_at]
    order = np.argsort(at, kind="stable")
    u = np.r_[node_of[p0], node_of[enc_p[direct_at]]][order]
    v = np.r_[node_of[p1], node_of[enc_q[direct_at]]][order]
    first_px = np.r_[p0, enc_p[direct_at]][order]
    last_px = np.r_[p1, enc_q[direct_at]][order]
    size = np.r_[run_size[:n_runs] + 2, np.full(len(direct_at), 2, np.int64)][order]
    offset = np.cumsum(size) - size
    flat = np.empty(int(size.sum()), np.int64)
    flat[offset] = first_px
    flat[offset + size - 1] = last_px
    # Run pixels after their branch's first pixel.
    slot = np.empty(len(order), np.int64)
    slot[order] = np.arange(len(order))  # final position of each (runs first, then direct branches)
    in_runs = walk_rank < n_runs
    ranks = walk_rank[in_runs]
    within = np.arange(len(ranks)) - run_start[ranks]
    flat[offset[slot[ranks]] + 1 + within] = walk[in_runs]
    return node_of, n_clusters, n_nodes, u, v, flat, offset, size, loops


def _path_length(pts):
    if len(pts) < 2:
        return 0.0
    return float(np.hypot(*np.diff(pts, axis=0).T).sum())


def _branch_lengths(pts, sizes):
    """Length of each branch, from all branches' points one after the other (`sizes` points each).

    Returns
    -------
    lengths : (B,) ndarray of float
    """
    if len(sizes) == 0:
        return np.zeros(0)
    offsets = np.cumsum(sizes) - sizes
    seg = np.hypot(*np.diff(pts, axis=0).T)
    cum = np.r_[0, np.cumsum(seg)]
    return cum[offsets + sizes - 1] - cum[offsets]


def _end_directions(pts, sizes, *, skip, span):
    """The unit direction out of each end of each branch (all branches at once).

    Parameters
    ----------
    pts : (P, 2) ndarray of float
        All branches' points, one branch after the other.
    sizes : (B,) ndarray of int
        Points per branch.

    Returns
    -------
    directions : (B, 2, 2) ndarray
        ``directions[b, e]`` points out of branch b at its end e (0: first point, 1: last point), measured
        from `skip` to `skip + span` points in from that end.
    """
    n_br = len(sizes)
    if n_br == 0:
        return np.zeros((0, 2, 2))
    offsets = np.cumsum(sizes) - sizes
    near = np.minimum(skip, np.maximum(sizes - 2, 0))
    far = np.minimum(near + span, sizes - 1)
    k = np.clip((far - near) // 3, 1, 3)
    out = np.zeros((n_br, 2, 2))
    for e in (0, 1):
        # index of the i-th point counted from end e
        def at(i, e=e):
            return offsets + (i if e == 0 else sizes - 1 - i)

        head = sum(pts[at(np.minimum(near + j, sizes - 1))] for j in range(3)) / 3.0
        tail = sum(pts[at(np.maximum(far - j, 0))] for j in range(3)) / 3.0
        one = k == 1
        head[one] = pts[at(near)][one]
        tail[one] = pts[at(far)][one]
        vec = head - tail
        norm = np.hypot(vec[:, 0], vec[:, 1])
        ok = (far > near) & (norm > 0)
        out[ok, e] = vec[ok] / norm[ok, None]
    return out


def _best_matching(cost, *, max_turn_deg, free_penalty):
    """Min-cost matching of ends (pairs only below max_turn_deg); returns (pairs, best, second best).

    Of matchings that cost the same, the first found wins (the order below), and the second best is then
    that same cost.
    """
    n = len(cost)
    best = [np.inf, None, np.inf]  # best total, its pairs, second best total

    def rec(rest, pairs, total):
        if not rest:
            if total < best[0]:
                best[:] = total, pairs, best[0]
            elif total < best[2]:
                best[2] = total
            return
        i, others = rest[0], rest[1:]
        rec(others, pairs, total + free_penalty)
        for k, j in enumerate(others):
            if cost[i][j] <= max_turn_deg:
                rec(others[:k] + others[k + 1 :], (*pairs, (i, j)), total + cost[i][j])

    rec(tuple(range(n)), (), 0.0)
    return list(best[1]), best[0], best[2]


def _thread_loops(ends, pairs, cost):
    """Re-pair a junction so that a hair that loops and crosses itself stays one hair.

    A branch whose two ends meet at one junction and pair with each other (or, turning too sharply, stay
    unpaired) would come out as a hair of its own, lying exactly where another hair passes: it is that
    hair's loop. Threading it, the hair comes in, goes round the loop and leaves: ``x-(b, 0)`` and
    ``(b, 1)-y`` (or the other way round, whichever turns less) replace ``x-y``. With no hair passing, a
    single end left unpaired at the junction (a hair ending in a loop) takes the loop's better end.
    """
    pairs = [tuple(pr) for pr in pairs]
    paired = {i for pr in pairs for i in pr}
    loops = [pr for pr in pairs if ends[pr[0]][0] == ends[pr[1]][0]]
    # (A tight loop's ends may turn too sharply to pair, and be left unpaired.)
    free = [i for i in range(len(ends)) if i not in paired]
    loops += [(i, j) for k, i in enumerate(free) for j in free[k + 1 :] if ends[i][0] == ends[j][0]]
    for loop in loops:
        a, b = loop
        paired.update(loop)
        through = [pr for pr in pairs if pr != loop and ends[pr[0]][0] != ends[pr[1]][0]]
        if through:
            x, y = through[0]
            straight = cost[x][a] + cost[b][y] <= cost[x][b] + cost[a][y]
            new = [(x, a), (b, y)] if straight else [(x, b), (a, y)]
            pairs = [pr for pr in pairs if pr not in (loop, through[0])] + new
            continue
        single = [i for i in range(len(ends)) if i not in paired]
        if len(single) == 1:
            u = single[0]
            pairs = [pr for pr in pairs if pr != loop] + [(u, a) if cost[u][a] <= cost[u][b] else (u, b)]
            paired.add(u)
    return pairs


def _hairpin(ends, cost, stems, *, max_turn_deg):
    """Of three branch ends at a junction, a stem (`stems`: short, ending free) into which both other ends,
    of two different branches, go straight on (each turning less than `max_turn_deg`): the pair of arms
    and the stem's index; None where there is none."""
    for stem, ok in enumerate(stems):
        i, j = (k for k in range(3) if k != stem)
        if ok and ends[i][0] != ends[j][0] and max(cost[i][stem], cost[j][stem]) < max_turn_deg:
            return (i, j), stem
    return None


def _greedy_matching(cost, *, max_turn_deg):
    n = len(cost)
    cand = sorted(
        (cost[i][j], i, j) for i, j in itertools.combinations(range(n), 2) if cost[i][j] <= max_turn_deg
    )
    used, pairs = set(), []
    for _, i, j in cand:
        if i not in used and j not in used:
            used.update((i, j))
            pairs.append((i, j))
    return pairs


def trace_skeleton(
    skeleton,
    *,
    width_px: float = 1.5,
    spur_px: float | None = None,
    merge_px: float | None = None,
    direction_span_px: float = 10.0,
    max_turn_deg: float = 50.0,
    gap_px: float | None = None,
    min_length_px: float = 8.0,
    max_zone_ends: int = 8,
    shared_px: float | None = None,
    support=None,
    long_gap_px: float = 30.0,
    min_support: float = 2.0,
    tip_px: float = 15.0,
    hairpin_deg: float = 60.0,
    hairpin_px: float | None = None,
):
    """Trace hairs on a one-pixel skeleton, through crossings.

    Parameters
    ----------
    skeleton : (M, N) ndarray of bool
        One-pixel centre lines of the hair foreground.
    width_px : float
        Typical hair width on this skeleton's pixel grid; sets the defaults of the other distances.
    spur_px : float, optional
        Branches shorter than this from a junction to a free end are thinning artefacts and dropped.
    merge_px : float, optional
        Junctions joined by a branch shorter than this are one crossing (shallow crossings).
    direction_span_px : float
        How far along a branch its direction at a junction is measured.
    max_turn_deg : float
        Two branch ends at a junction are one hair only if the hair turns by less than this.
    gap_px : float, optional
        Free ends this close that point at each other are joined (a gap in a faint hair).
    min_length_px : float
        Chains shorter than this are dropped (dust, noise).
    max_zone_ends : int
        Junctions are merged into one crossing only while it has at most this many branch ends.
    shared_px : float
        Two junctions joined by a segment shorter than this are one crossing (a shallow one, or hairs
        touching along a stretch) when their outer ends pair straighter together than apart.
    support : (M, N) ndarray of float, optional
        Line evidence (the line filter over its noise level). With it, free ends up to `long_gap_px`
        apart that point straight at each other are joined when the mean evidence on the straight line
        between them reaches `min_support`, and free ends are extended by up to `tip_px` while it holds
        (a tapering tip fades below the detection threshold).
    hairpin_deg, hairpin_px : float
        A hair bent back on itself (a kink of curly hair) runs in and out of a sharp point where its two
        arms touch: the skeleton there is a junction of the two arms and one short stem (at most
        `hairpin_px`, by default 10 hair widths) that ends free. Where both arms would go straight on into
        the stem (each turning less than `hairpin_deg`; 0: never), the arms are one hair, which goes out
        along the stem and back.

    Returns
    -------
    Traced
    """
    w = float(width_px)
    hairpin_px = 10.0 * w if hairpin_px is None else hairpin_px
    spur_px = max(3.0, 1.5 * w + 2.0) if spur_px is None else spur_px
    merge_px = max(6.0, 3.0 * w + 4.0) if merge_px is None else merge_px
    gap_px = max(8.0, 5.0 * w) if gap_px is None else gap_px
    shared_px = max(20.0, 12.0 * w) if shared_px is None else shared_px
    skip = max(1, round(0.75 * w))
    span = max(3, round(direction_span_px))

    skeleton = np.asarray(skeleton, bool)
    coords, nb, degree = pixel_graph(skeleton)
    node_of, n_clusters, n_nodes, raw_u, raw_v, raw_px, offset, sizes, loops = _branches(nb, degree)
    for _ in range(1):  # prune thinning spurs at the pixel level, then rebuild the graph
        spur = ((raw_u < n_clusters) != (raw_v < n_clusters)) & (sizes - 1 < spur_px)
        if not spur.any():
            break
        # All of a spur's pixels but the one in its junction.
        owner = np.repeat(np.arange(len(sizes)), sizes)
        pos = np.arange(len(raw_px)) - offset[owner]
        junction_end = np.where(raw_u < n_clusters, 0, sizes - 1)
        gone_px = raw_px[spur[owner] & (pos != junction_end[owner])]
        skeleton = skeleton.copy()
        gone = coords[gone_px]
        skeleton[gone[:, 0], gone[:, 1]] = False
        coords, nb, degree = pixel_graph(skeleton)
        node_of, n_clusters, n_nodes, raw_u, raw_v, raw_px, offset, sizes, loops = _branches(nb, degree)
    fcoords = coords.astype(np.float64)

    # --- branches as float point lists, dropping duplicates of two-pixel hops between clusters.
    keep = np.ones(len(sizes), bool)
    hops = np.flatnonzero(sizes == 2)
    if len(hops):
        key = np.minimum(raw_u[hops], raw_v[hops]) * n_nodes + np.maximum(raw_u[hops], raw_v[hops])
        _, first = np.unique(key, return_index=True)
        keep[hops] = False
        keep[hops[first]] = True
    br_u = raw_u[keep].tolist()
    br_v = raw_v[keep].tolist()
    owner = np.repeat(keep, sizes)
    all_pts = fcoords[raw_px[owner]]
    br_sizes = sizes[keep]
    br_first = np.cumsum(br_sizes) - br_sizes  # index in `all_pts` of each branch's first point
    br_pts = [all_pts[i : i + n] for i, n in zip(br_first.tolist(), br_sizes.tolist(), strict=True)]
    is_junction = np.zeros(n_nodes, bool)
    is_junction[:n_clusters] = True
    lengths_arr = _branch_lengths(all_pts, br_sizes)
    lengths = lengths_arr.tolist()
    end_dirs = _end_directions(all_pts, br_sizes, skip=skip, span=span)
    # Where a faint hair fades out and comes back, the last pixels of the skeleton hook sideways: the
    # direction across a gap is taken from further in.
    gap_dirs = _end_directions(all_pts, br_sizes, skip=skip + 3, span=span)

    # --- drop short spurs (junction to free end) and tiny isolated bits.
    u_arr, v_arr = raw_u[keep], raw_v[keep]
    junction_u, junction_v = is_junction[u_arr], is_junction[v_arr]
    alive_arr = ~((junction_u != junction_v) & (lengths_arr < spur_px))
    junction_node = is_junction
    is_junction = is_junction.tolist()  # (indexed one node at a time from here on)

    def by_length(branches):
        """Branch indices in order of length (ties in index order)."""
        return branches[np.argsort(lengths_arr[branches], kind="stable")].tolist()

    # --- merge junction clusters joined by short branches into zones.
    parent = list(range(n_nodes))

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    internal = [False] * len(br_pts)
    n_ends = (
        np.bincount(u_arr[alive_arr], minlength=n_nodes) + np.bincount(v_arr[alive_arr], minlength=n_nodes)
    ).tolist()
    short = np.flatnonzero(alive_arr & junction_u & junction_v & (lengths_arr < merge_px))
    for b in by_length(short):
        ra, rb = find(br_u[b]), find(br_v[b])
        if ra != rb:
            if n_ends[ra] + n_ends[rb] - 2 > max_zone_ends:
                continue  # a tangle, not a crossing: keep its junctions apart
            parent[ra] = rb
            n_ends[rb] += n_ends[ra] - 2
            internal[b] = True
        elif br_u[b] == br_v[b] or lengths[b] < skip + 2:
            internal[b] = True  # a tiny loop inside a junction
            n_ends[ra] -= 2

    def oriented(b, e):
        """Points of branch b starting at its end e."""
        return br_pts[b] if e == 0 else br_pts[b][::-1]

    end_dirs_list = end_dirs.tolist()

    def directions(ends):
        """(n, 2) directions out of the branch ends ``(b, e)`` in `ends`."""
        return np.array([end_dirs_list[b][e] for b, e in ends])

    # --- a shallow crossing, or two hairs touching along a stretch, leaves two junctions joined by a shared
    # segment: merge them when their outer ends pair straighter together than apart.
    outer = alive_arr & ~np.array(internal, bool)  # (internal: so far; shared segments are added below)
    ends_at: dict[int, list[tuple[int, int]]] = {}
    for b in np.flatnonzero(outer & (junction_u | junction_v)).tolist():
        for e, node in ((0, br_u[b]), (1, br_v[b])):
            if is_junction[node]:
                ends_at.setdefault(find(node), []).append((b, e))
    shared = np.flatnonzero(outer & junction_u & junction_v & (lengths_arr < shared_px))

    pairings = {}  # (ends are paired while zones merge and again per zone: once is enough)

    def pairing(ends):
        """Turning costs between `ends` (two or more), and, for up to six, their best pairing, its cost and
        the second best cost."""
        key = tuple(ends)
        if key not in pairings:
            dirs = directions(ends)
            cost = np.degrees(np.arccos(np.clip(-(dirs @ dirs.T), -1.0, 1.0))).tolist()
            best = None
            if len(ends) <= 6:
                best = _best_matching(cost, max_turn_deg=max_turn_deg, free_penalty=max_turn_deg)
            pairings[key] = cost, best
        return pairings[key]

    def matching_cost(ends):
        if len(ends) > 6:
            return np.inf
        if len(ends) < 2:
            return max_turn_deg * len(ends)
        return pairing(ends)[1][1]

    for b in by_length(shared):
        z1, z2 = find(br_u[b]), find(br_v[b])
        if z1 == z2:
            continue
        e1, e2 = ends_at.get(z1, []), ends_at.get(z2, [])
        union = [x for x in e1 + e2 if x[0] != b]
        if len(union) > max_zone_ends or len(union) < 2:
            continue
        if matching_cost(union) + 10.0 >= matching_cost(e1) + matching_cost(e2):
            continue
        parent[z1] = z2
        internal[b] = True
        ends_at[z2] = union
        ends_at.pop(z1, None)
    zone_of = [find(a) for a in range(n_nodes)]
    zone_of_arr = np.array(zone_of, np.int64)

    # --- ends at each zone, and its pixels: those of its internal branches, then those of its junctions.
    zone_ends: dict[int, list[tuple[int, int]]] = {}
    zone_pixels: dict[int, list[np.ndarray]] = {}
    for b in np.flatnonzero(alive_arr).tolist():
        if internal[b]:
            zone_pixels.setdefault(zone_of[br_u[b]], []).append(br_pts[b])
            continue
        for e, node in ((0, br_u[b]), (1, br_v[b])):
            if is_junction[node]:
                zone_ends.setdefault(zone_of[node], []).append((b, e))
    # (Junction pixels in pixel order.)
    junction_px = np.flatnonzero((node_of >= 0) & (node_of < n_clusters))
    junction_zone = zone_of_arr[node_of[junction_px]]
    by_zone = np.argsort(junction_zone, kind="stable")
    zones, first = np.unique(junction_zone[by_zone], return_index=True)
    pixels = fcoords[junction_px[by_zone]]
    last = np.append(first[1:], len(pixels)) if len(first) else first
    for z, i, j in zip(zones.tolist(), first.tolist(), last.tolist(), strict=True):
        zone_pixels.setdefault(z, []).append(pixels[i:j])

    partner: dict[tuple[int, int], tuple[int, int]] = {}
    via_zone: dict[tuple[int, int], int] = {}
    hairpin_stem: dict[tuple[int, int], np.ndarray] = {}  # end -> the stem it goes out along and back
    zone_centres = {}
    crossing_zones = set()
    n_ambiguous = 0
    n_unpaired = 0
    for z, ends in zone_ends.items():
        pix = np.concatenate(zone_pixels.get(z, [np.empty((0, 2))]))
        zone_centres[z] = pix.sum(axis=0) / len(pix) if len(pix) else oriented(*ends[0])[0]  # (= mean)
        n = len(ends)
        if n < 2:
            n_unpaired += n
            continue
        cost, matching = pairing(ends)
        if n <= 6:
            pairs, best, second = matching
            ambiguous = (second - best) < 12.0 or n >= 6
        else:
            pairs = _greedy_matching(cost, max_turn_deg=max_turn_deg)
            ambiguous = True
        if any(cost[i][j] > 0.6 * max_turn_deg for i, j in pairs):
            ambiguous = True
        pairs = _thread_loops(ends, pairs, cost)
        pin = None
        if hairpin_deg and n == 3:
            stems = [
                lengths[b] <= hairpin_px and alive_arr[b] and not is_junction[br_v[b] if e == 0 else br_u[b]]
                for b, e in ends
            ]
            pin = _hairpin(ends, cost, stems, max_turn_deg=hairpin_deg)
            if pin is not None:
                (i, j), stem = pin
                pairs = [(i, j)]
                alive_arr[ends[stem][0]] = False  # (the stem is part of the hair, not a piece of its own)
                hairpin_stem[ends[i]] = hairpin_stem[ends[j]] = oriented(*ends[stem])
        n_ambiguous += int(ambiguous)
        n_unpaired += n - 2 * len(pairs) - (pin is not None)
        for i, j in pairs:
            partner[ends[i]] = ends[j]
            partner[ends[j]] = ends[i]
            via_zone[ends[i]] = via_zone[ends[j]] = z
        if len(pairs) >= 2:
            crossing_zones.add(z)

    # --- join free ends across small gaps.
    # Ends left over at junctions take part too: in a tangle, the other half of a hair is often across
    # a neighbouring junction.
    paired = np.zeros((len(br_pts), 2), bool)
    if partner:
        paired_ends = np.array(list(partner), np.int64)
        paired[paired_ends[:, 0], paired_ends[:, 1]] = True
    free_b, free_e = np.nonzero((alive_arr & ~np.array(internal, bool))[:, None] & ~paired)
    free = list(zip(free_b.tolist(), free_e.tolist(), strict=True))
    free_node = np.where(free_e == 0, u_arr[free_b], v_arr[free_b])
    # (Free ends are in the zone of their junction; each end in the open in a zone of its own.)
    free_zone = np.where(junction_node[free_node], zone_of_arr[free_node], -2 - np.arange(len(free)))
    n_weak = 0
    n_near = 0
    if len(free) >= 2:
        size = br_sizes[free_b]

        def nth_from_end(i):
            """The i-th point of each free end's branch counted from that end (all ends at once)."""
            return all_pts[br_first[free_b] + np.where(free_e == 0, i, size - 1 - i)]

        tips = nth_from_end(0)
        # The geometry of a gap is judged from a few pixels in from each tip, past a hook the skeleton makes
        # where the hair fades (the tips themselves still set the distance).
        inner = nth_from_end(np.minimum(skip + 3, size - 1))
        tree = cKDTree(tips)
        reach = gap_px if support is None else max(gap_px, long_gap_px)
        cand = _gap_candidates(
            tree.query_pairs(reach, output_type="ndarray"),
            tips=tips,
            inner=inner,
            dirs=gap_dirs[free_b, free_e],
            branch=free_b,
            branch_length=lengths_arr,
            zone=free_zone,
            gap_px=gap_px,
            reach=reach,
        )
        n_near += cand.pop()
        # A long gap is bridged only along a straight line where the hair goes on, faint, under the
        # detection threshold; where it does not (a dark hair's sheen, a light hair's faint stretch), only
        # ends that point straight at each other are joined.
        judged = [c for c in cand if not (c[4] <= 10.0 or c[3] <= gap_px)]
        evidence = _means_along(support, tips[[c[1] for c in judged]], tips[[c[2] for c in judged]])
        weak = {(c[1], c[2]) for c, value in zip(judged, evidence, strict=True) if not value >= min_support}
        cand = [c for c in cand if (c[1], c[2]) not in weak]
        cand.sort()
        used = set()
        for _, i, j, dist, dev in cand:
            if i in used or j in used:
                n_near += 1
                continue
            used.update((i, j))
            partner[free[i]] = free[j]
            partner[free[j]] = free[i]
            if dist > 0.6 * gap_px or dev > 20.0:
                n_weak += 1

    # --- chain branches into hairs.
    used_branch = [False] * len(br_pts)
    chains = []  # list of (list[(b, e_in)], closed)

    def walk(b0, e0):
        seq = []
        b, e = b0, e0
        while True:
            used_branch[b] = True
            seq.append((b, e))
            out = (b, 1 - e)
            nxt = partner.get(out)
            if nxt is None:
                return seq, False
            if used_branch[nxt[0]]:
                return seq, nxt[0] == b0
            b, e = nxt

    order = np.flatnonzero(alive_arr & ~np.array(internal, bool)).tolist()
    for b in order:
        if used_branch[b]:
            continue
        for e in (0, 1):
            if (b, e) not in partner:
                seq, closed = walk(b, e)
                chains.append((seq, closed))
                break
    for b in order:
        if not used_branch[b]:
            seq, closed = walk(b, 0)
            chains.append((seq, closed))

    trim = skip + 1
    assembled = []  # (path, chain, closed, crossings passed)
    for seq, closed in chains:
        parts = []
        n_cross = 0
        for k, (b, e) in enumerate(seq):
            pts = oriented(b, e)
            start = trim if (b, e) in partner and len(pts) > 2 * trim + 2 else 0
            stop = len(pts) - trim if (b, 1 - e) in partner and len(pts) > 2 * trim + 2 else len(pts)
            pts = pts[start:stop]
            if parts:
                parts.append(_bridge(parts[-1][-1], pts[0]))
            parts.append(pts)
            stem = hairpin_stem.get((b, 1 - e))
            if stem is not None and (k < len(seq) - 1 or closed):
                parts += [_bridge(pts[-1], stem[0]), stem, stem[::-1]]
            crossing = (b, 1 - e) in partner and via_zone.get((b, 1 - e)) in crossing_zones
            if crossing and (k < len(seq) - 1 or closed):
                n_cross += 1
        if closed and parts:
            parts.append(_bridge(parts[-1][-1], parts[0][0]))
        path = np.concatenate(parts) if parts else np.empty((0, 2))
        assembled.append((path, seq, closed, n_cross))
    paths, closed_flags, ends_j, crossings = [], [], [], []
    extend_head, extend_tail = [], []  # paths whose free ends are followed along `support`
    long_enough = path_lengths([path for path, *_ in assembled]) >= min_length_px
    for (path, seq, closed, n_cross), ok in zip(assembled, long_enough.tolist(), strict=True):
        if not ok:
            continue
        first, last = seq[0], seq[-1]
        if support is not None and not closed and len(path) > 4:
            # A tapering tip fades below the detection threshold: follow it while the line goes on (all
            # tips at once, below).
            if (first[0], first[1]) not in partner and not is_junction[
                br_u[first[0]] if first[1] == 0 else br_v[first[0]]
            ]:
                extend_head.append(len(paths))
            if (last[0], 1 - last[1]) not in partner and not is_junction[
                br_v[last[0]] if last[1] == 0 else br_u[last[0]]
            ]:
                extend_tail.append(len(paths))
        paths.append(path)
        closed_flags.append(bool(closed))
        ends_j.append(
            (
                (not closed) and bool(is_junction[br_u[first[0]] if first[1] == 0 else br_v[first[0]]]),
                (not closed) and bool(is_junction[br_v[last[0]] if last[1] == 0 else br_u[last[0]]]),
            )
        )
        crossings.append(n_cross)
    for i, ext in zip(
        extend_head, _extend_tips([paths[i] for i in extend_head], support, tip_px, min_support), strict=True
    ):
        paths[i] = np.concatenate([ext[::-1], paths[i]])
    for i, ext in zip(
        extend_tail,
        _extend_tips([paths[i][::-1] for i in extend_tail], support, tip_px, min_support),
        strict=True,
    ):
        paths[i] = np.concatenate([paths[i], ext])
    for path_idx in loops:
        pts = fcoords[path_idx]
        if _path_length(pts) >= min_length_px:
            paths.append(np.concatenate([pts, pts[:1]]))
            closed_flags.append(True)
            ends_j.append((False, False))
            crossings.append(0)

    crossings_rc = np.array([zone_centres[z] for z in sorted(crossing_zones)]).reshape(-1, 2)
    junctions_rc = np.array([zone_centres[z] for z in sorted(zone_centres)]).reshape(-1, 2)
    return Traced(
        paths=tuple(paths),
        closed=tuple(closed_flags),
        ends_at_junction=tuple(ends_j),
        crossings=tuple(crossings),
        crossings_rc=crossings_rc,
        junctions_rc=junctions_rc,
        n_ambiguous=n_ambiguous,
        n_unpaired_ends=n_unpaired,
        n_weak_joins=n_weak,
        n_near_misses=n_near,
    )


def _gap_candidates(pairs, *, tips, inner, dirs, branch, branch_length, zone, gap_px, reach):
    """Pairs of free ends that may be one hair across a gap, all pairs at once.

    A short gap (up to `gap_px`): the ends turn little into each other and each lies close to the other's
    line, judged from a few pixels in (`inner`), past the hook a fading skeleton makes; its offset across
    that line, not the angle, which a pixel's offset at close range would make large. A longer gap (up to
    `reach`): the ends point at each other within 20 degrees (the caller checks the line between them).

    Returns
    -------
    list
        ``(score, i, j, dist, deviation_deg)`` per candidate, then, last, the number of near misses (ends
        closer than half a short gap that do not qualify).
    """
    pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
    i, j = pairs[:, 0], pairs[:, 1]
    same = (branch[i] == branch[j]) & (branch_length[branch[i]] < 4 * gap_px)
    keep = ~same & (zone[i] != zone[j])
    i, j = i[keep], j[keep]
    gap = tips[j] - tips[i]
    dist = np.hypot(gap[:, 0], gap[:, 1])
    n_close = int((dist < 0.5 * gap_px).sum())  # (close ends: a near miss unless they pair below)
    # Ends that turn more than 35 degrees into each other pair neither way: left out first (with a margin,
    # so that every pair that may pass is judged as below).
    cos_turn = np.clip(-(dirs[i] * dirs[j]).sum(axis=1), -1.0, 1.0)
    may = cos_turn >= np.cos(np.radians(35.0)) - 1e-9
    i, j, gap, dist, cos_turn = i[may], j[may], gap[may], dist[may], cos_turn[may]
    di, dj = dirs[i], dirs[j]
    span = inner[j] - inner[i]
    span_len = np.hypot(span[:, 0], span[:, 1])
    turn = np.degrees(np.arccos(cos_turn))
    offset = np.maximum(
        np.abs(di[:, 0] * span[:, 1] - di[:, 1] * span[:, 0]),
        np.abs(dj[:, 0] * span[:, 1] - dj[:, 1] * span[:, 0]),
    )
    forward = ((di * span).sum(axis=1) > 0) & ((dj * span).sum(axis=1) < 0)
    short = dist <= gap_px
    ok_short = short & (turn <= 35.0) & forward & (offset <= np.maximum(3.0, 0.3 * span_len))
    n_near = n_close - int((ok_short & (dist < 0.5 * gap_px)).sum())
    unit = gap / np.maximum(dist, 1e-9)[:, None]
    dev = np.maximum.reduce(
        [
            np.degrees(np.arccos(np.clip((di * unit).sum(axis=1), -1.0, 1.0))),
            np.degrees(np.arccos(np.clip(-(dj * unit).sum(axis=1), -1.0, 1.0))),
            turn,
        ]
    )
    ok_long = ~short & (dev <= 20.0)
    cand = []
    for ok, score, value in (
        (ok_short, dist / gap_px + turn / 35.0, turn),
        (ok_long, 1.0 + dist / reach + dev / 35.0, dev),
    ):
        columns = (score[ok], i[ok], j[ok], dist[ok], value[ok])
        cand += zip(*(c.tolist() for c in columns), strict=True)
    return [*cand, n_near]


def _extend_tips(paths, support, max_px, min_support, share=0.5):
    """For each path, the points beyond ``path[0]``, straight on, while `support` stays above `min_support`
    and `share` of its level on the hair's last stretch (two misses in a row end it). All paths at once.

    Returns
    -------
    list of (K, 2) ndarray of float
    """
    if not paths:
        return []
    n_steps = int(max_px)
    rows, cols = support.shape

    def values_at(points):
        r = np.clip(np.round(points[..., 0]).astype(int), 0, rows - 1)
        c = np.clip(np.round(points[..., 1]).astype(int), 0, cols - 1)
        inside = (points[..., 0] >= 0) & (points[..., 0] <= rows - 1)
        inside &= (points[..., 1] >= 0) & (points[..., 1] <= cols - 1)
        return support[r, c], inside

    sizes = np.array([len(p) for p in paths])
    points = np.concatenate(paths).astype(np.float64, copy=False)
    first = np.cumsum(sizes) - sizes
    tips = points[first]
    back = points[first + np.minimum(sizes - 1, 8)]
    direction = tips - back
    norm = np.hypot(direction[:, 0], direction[:, 1])
    # The level on the hair's last stretch: the median of `support` on its first (up to) 20 points.
    n_own = np.minimum(sizes, 20)
    within = np.arange(n_own.sum()) - np.repeat(np.cumsum(n_own) - n_own, n_own)  # (0 .. n_own - 1 each)
    own, _ = values_at(points[np.repeat(first, n_own) + within])
    padded = np.full((len(paths), 20), np.inf, own.dtype)
    padded[np.repeat(np.arange(len(paths)), n_own), within] = own
    padded.sort(axis=1)
    row = np.arange(len(paths))
    median = (padded[row, (n_own - 1) // 2] + padded[row, n_own // 2]) / own.dtype.type(2)
    level = np.maximum(min_support, share * median.astype(np.float64))
    if n_steps < 1:
        return [np.empty((0, 2))] * len(paths)
    unit = direction / np.where(norm > 0, norm, 1.0)[:, None]
    steps = tips[:, None, :] + np.arange(1, n_steps + 1)[None, :, None] * unit[:, None, :]
    values, inside = values_at(steps)
    good = (values >= level[:, None]) & inside
    # The walk stops at a miss that follows a miss or lies outside the image.
    bad = ~good
    stop = bad & (np.c_[np.zeros((len(paths), 1), bool), bad[:, :-1]] | ~inside)
    first_stop = np.where(stop.any(axis=1), stop.argmax(axis=1), n_steps)
    index = np.arange(1, n_steps + 1)[None, :]
    n_good = np.where(good & (index - 1 < first_stop[:, None]), index, 0).max(axis=1)
    n_good[norm == 0] = 0
    return [steps[i, :k] for i, k in enumerate(n_good.tolist())]


def _means_along(image, a, b):
    """Mean of `image` (nearest pixel) on each segment from ``a[k]`` to ``b[k]`` ((K, 2) arrays), leaving out
    two pixels at each end: a list of K floats, inf for a segment under five pixels.

    Segments of one length are sampled together (each mean is summed as it is for one segment alone).
    """
    a, b = np.asarray(a, float).reshape(-1, 2), np.asarray(b, float).reshape(-1, 2)
    out = [np.inf] * len(a)
    if not len(a):
        return out
    n_of = np.hypot(*(b - a).T).astype(int)
    for n in np.unique(n_of[n_of >= 5]).tolist():
        which = np.flatnonzero(n_of == n)
        t = np.arange(2, n - 1) / n
        pts = np.round(a[which, None, :] + t[None, :, None] * (b[which] - a[which])[:, None, :]).astype(int)
        rows = np.clip(pts[..., 0], 0, image.shape[0] - 1)
        cols = np.clip(pts[..., 1], 0, image.shape[1] - 1)
        for k, value in zip(which.tolist(), image[rows, cols].mean(axis=1).tolist(), strict=True):
            out[k] = value
    return out


def _bridge(a, b):
    """Points strictly between a and b at about one pixel spacing."""
    step = b - a
    n = int(math.hypot(*step.tolist()))
    if n < 1:
        return np.empty((0, 2))
    t = (np.arange(1, n + 1) / (n + 1))[:, None]
    return a + t * step


def smooth_path(path_rc, *, closed: bool = False, sigma_px: float = 2.0) -> np.ndarray:
    """Smooth a pixel path (removes the staircase that makes pixel paths too long).

    Parameters
    ----------
    path_rc : (K, 2) ndarray of float

    Returns
    -------
    smooth_rc : (K, 2) ndarray of float
        Same number of points; the ends stay where they were.
    """
    path_rc = np.asarray(path_rc, float)
    if len(path_rc) < 3 or sigma_px <= 0:
        return path_rc.copy()
    if closed:
        return ndi.gaussian_filter1d(path_rc[:-1], sigma_px, axis=0, mode="wrap")[
            np.r_[np.arange(len(path_rc) - 1), 0]
        ]
    # Reflect about the end points (odd extension) so straight ends stay straight and in place.
    pad = min(len(path_rc) - 1, int(4 * sigma_px) + 1)
    head = 2 * path_rc[0] - path_rc[pad:0:-1]
    tail = 2 * path_rc[-1] - path_rc[-2 : -pad - 2 : -1]
    ext = np.concatenate([head, path_rc, tail])
    return ndi.gaussian_filter1d(ext, sigma_px, axis=0, mode="nearest")[pad : pad + len(path_rc)]


def smooth_paths(paths_rc, closed, *, sigma_px: float = 2.0) -> list[np.ndarray]:
    """`smooth_path` of many paths at once (the same numbers).

    Open paths long enough that the filter never reaches past their reflected ends are filtered together,
    one after the other in one array (each output point sees only its own path); the others one by one.
    """
    out: list[np.ndarray | None] = [None] * len(paths_rc)
    pad = int(4 * sigma_px) + 1
    radius = int(4.0 * float(sigma_px) + 0.5)  # gaussian_filter1d's reach (truncate=4)
    paths_rc = [np.asarray(path, float) for path in paths_rc]
    sizes = np.array([len(path) for path in paths_rc], np.int64)
    together = ~np.array(closed, bool).reshape(-1) & (sizes - 1 >= pad) & (sigma_px > 0) & (radius <= pad)
    for i in np.flatnonzero(~together).tolist():
        out[i] = smooth_path(paths_rc[i], closed=closed[i], sigma_px=sigma_px)
    batch = np.flatnonzero(together)
    if len(batch):
        # Each path between its reflections about its end points (as `smooth_path` pads it), one after the
        # other in one array.
        n = sizes[batch]
        points = np.concatenate([paths_rc[i] for i in batch.tolist()])
        first = np.cumsum(n) - n  # (in `points`)
        last = first + n - 1
        at = first + 2 * pad * np.arange(len(batch)) + pad  # (each path's first point in `ext`)
        inward = np.arange(pad)
        ext = np.empty((len(points) + 2 * pad * len(batch), 2))
        # (Before each path ``2 * path[0] - path[pad:0:-1]``, after it ``2 * path[-1] - path[-2:-pad-2:-1]``.)
        ext[(at - pad)[:, None] + inward] = 2 * points[first][:, None] - points[first[:, None] + pad - inward]
        ext[np.repeat(at - first, n) + np.arange(len(points))] = points
        ext[(at + n)[:, None] + inward] = 2 * points[last][:, None] - points[last[:, None] - 1 - inward]
        smooth = ndi.gaussian_filter1d(ext, sigma_px, axis=0, mode="nearest")
        for i, a, size in zip(batch.tolist(), at.tolist(), n.tolist(), strict=True):
            out[i] = smooth[a : a + size]
    return out


def path_length(path_rc) -> float:
    """Length of a polyline, in its pixel units."""
    return _path_length(np.asarray(path_rc, float))


def path_lengths(paths_rc) -> np.ndarray:
    """`path_length` of many polylines at once (the same numbers).

    Polylines of as many points are summed together, one row each, as NumPy sums one alone.

    Parameters
    ----------
    paths_rc : sequence of (K, 2) ndarray of float

    Returns
    -------
    lengths : (P,) ndarray of float
    """
    sizes = np.array([len(p) for p in paths_rc], np.int64)
    lengths = np.zeros(len(sizes))
    if not (sizes >= 2).any():
        return lengths
    points = np.concatenate([np.asarray(p, float).reshape(-1, 2) for p in paths_rc])
    # (Also, unused, from each path's last point to the next one's first.)
    seg = np.hypot(*np.diff(points, axis=0).T)
    starts = np.cumsum(sizes) - sizes
    for n in np.unique(sizes[sizes >= 2]).tolist():
        which = np.flatnonzero(sizes == n)
        lengths[which] = seg[starts[which, None] + np.arange(n - 1)].sum(axis=1)
    return lengths
