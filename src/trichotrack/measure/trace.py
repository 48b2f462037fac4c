"""Trace hairs on a skeleton: a graph of branches and junctions, ends paired through crossings.

A skeleton of crossing hairs falls apart into branches that meet at junctions. At each junction (or a
cluster of junctions a few pixels apart, as a shallow crossing gives) the branch ends are paired by
direction: a crossing of two hairs has four ends that pair into two straight-through pairs, a hair whose
end touches another's side leaves its end free. Paired branches are then chained end to end into hairs,
so a hair that crosses another, or loops over itself, stays one hair. Ends of hairs that stop close to
each other and point at each other (a faint stretch the detector missed) are joined as well.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
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
        Indices of the neighbours of each pixel, valid ones first, -1 after.
    degree : (P,) ndarray of int
    """
    sk = np.pad(np.asarray(skeleton, bool), 1)
    rr, cc = np.nonzero(sk)
    n_px = len(rr)
    index = np.full(sk.shape, -1, np.int32)
    index[rr, cc] = np.arange(n_px, dtype=np.int32)
    nb = np.empty((n_px, 8), np.int32)
    for k, (dr, dc) in enumerate(_OFFSETS):
        nb[:, k] = index[rr + dr, cc + dc]
        if k >= 4:  # a diagonal step is redundant when a four-neighbour path of two steps exists
            bridged = (index[rr + dr, cc] >= 0) | (index[rr, cc + dc] >= 0)
            nb[bridged, k] = -1
    order = np.argsort(nb < 0, axis=1, kind="stable")
    nb = np.take_along_axis(nb, order, axis=1)
    degree = (nb >= 0).sum(axis=1)
    coords = np.stack([rr - 1, cc - 1], axis=1)
    return coords, nb, degree


def _branches(nb, degree):
    """Walk the skeleton from node pixels; returns node labels and branches as pixel-index lists."""
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

    node_of_l = node_of.tolist()
    n1 = nb[:, 0].tolist()
    n2 = nb[:, 1].tolist()
    visited = bytearray(n_px)
    branches = []  # (u, v, [pixel indices])
    for p in np.flatnonzero(node_of >= 0).tolist():
        u = node_of_l[p]
        for q in nb[p, : degree[p]].tolist():
            vq = node_of_l[q]
            if vq >= 0:
                if vq != u and p < q:
                    branches.append((u, vq, [p, q]))
                continue
            if visited[q]:
                continue
            path = [p]
            prev, cur = p, q
            while node_of_l[cur] < 0:
                visited[cur] = 1
                path.append(cur)
                a = n1[cur]
                nxt = a if a != prev else n2[cur]
                prev, cur = cur, nxt
            path.append(cur)
            branches.append((u, node_of_l[cur], path))
    # Closed loops with no node at all.
    loops = []
    rest = np.flatnonzero((degree == 2) & (node_of < 0))
    for p in rest.tolist():
        if visited[p]:
            continue
        path = [p]
        visited[p] = 1
        prev, cur = p, n1[p]
        while not visited[cur]:
            visited[cur] = 1
            path.append(cur)
            a = n1[cur]
            nxt = a if a != prev else n2[cur]
            prev, cur = cur, nxt
        loops.append(path)
    return node_of, n_clusters, n_nodes, branches, loops


def _path_length(pts):
    if len(pts) < 2:
        return 0.0
    return float(np.hypot(*np.diff(pts, axis=0).T).sum())


def _lengths_and_directions(branches, *, skip, span):
    """Lengths of all branches and the unit direction out of each end (all branches at once).

    Returns
    -------
    lengths : list of float
    directions : (B, 2, 2) ndarray
        ``directions[b, e]`` points out of branch b at its end e (0: first point, 1: last point), measured
        from `skip` to `skip + span` points in from that end.
    """
    n_br = len(branches)
    if n_br == 0:
        return [], np.zeros((0, 2, 2))
    sizes = np.array([len(p) for p in branches])
    pts = np.concatenate(branches)
    offsets = np.r_[0, np.cumsum(sizes)[:-1]]
    seg = np.hypot(*np.diff(pts, axis=0).T)
    cum = np.r_[0, np.cumsum(seg)]
    lengths = (cum[offsets + sizes - 1] - cum[offsets]).tolist()
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
    return lengths, out


def _turn_deg(d1, d2):
    """Deviation from straight, in degrees, of a hair that comes in along -d1 and leaves along d2."""
    cos = float(np.clip(-(d1 @ d2), -1.0, 1.0))
    return float(np.degrees(np.arccos(cos)))


def _best_matching(cost, *, max_turn_deg, free_penalty):
    """Min-cost matching of ends (pairs only below max_turn_deg); returns (pairs, best, second best)."""
    n = len(cost)
    items = list(range(n))
    results = []

    def rec(rest, pairs, total):
        if not rest:
            results.append((total, pairs))
            return
        i, others = rest[0], rest[1:]
        rec(others, pairs, total + free_penalty)
        for k, j in enumerate(others):
            if cost[i][j] <= max_turn_deg:
                rec(others[:k] + others[k + 1 :], [*pairs, (i, j)], total + cost[i][j])

    rec(items, [], 0.0)
    results.sort(key=lambda r: r[0])
    best = results[0]
    second = results[1][0] if len(results) > 1 else np.inf
    return best[1], best[0], second


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

    Returns
    -------
    Traced
    """
    w = float(width_px)
    spur_px = max(3.0, 1.5 * w + 2.0) if spur_px is None else spur_px
    merge_px = max(6.0, 3.0 * w + 4.0) if merge_px is None else merge_px
    gap_px = max(8.0, 5.0 * w) if gap_px is None else gap_px
    shared_px = max(20.0, 12.0 * w) if shared_px is None else shared_px
    skip = max(1, round(0.75 * w))
    span = max(3, round(direction_span_px))

    skeleton = np.asarray(skeleton, bool)
    coords, nb, degree = pixel_graph(skeleton)
    node_of, n_clusters, n_nodes, raw, loops = _branches(nb, degree)
    for _ in range(1):  # prune thinning spurs at the pixel level, then rebuild the graph
        spur_px_idx = [
            path[1:] if u < n_clusters else path[:-1]
            for u, v, path in raw
            if (u < n_clusters) != (v < n_clusters) and len(path) - 1 < spur_px
        ]
        if not spur_px_idx:
            break
        skeleton = skeleton.copy()
        gone = coords[np.concatenate(spur_px_idx)]
        skeleton[gone[:, 0], gone[:, 1]] = False
        coords, nb, degree = pixel_graph(skeleton)
        node_of, n_clusters, n_nodes, raw, loops = _branches(nb, degree)
    fcoords = coords.astype(np.float64)

    # --- branches as float point lists, dropping duplicates of two-pixel hops between clusters.
    br_u, br_v, br_pts = [], [], []
    seen_hops = set()
    for u, v, path in raw:
        if len(path) == 2:
            key = (min(u, v), max(u, v))
            if key in seen_hops:
                continue
            seen_hops.add(key)
        br_u.append(u)
        br_v.append(v)
        br_pts.append(fcoords[path])
    is_junction = np.zeros(n_nodes, bool)
    is_junction[:n_clusters] = True
    lengths, end_dirs = _lengths_and_directions(br_pts, skip=skip, span=span)
    # Where a faint hair fades out and comes back, the last pixels of the skeleton hook sideways: the
    # direction across a gap is taken from further in.
    _, gap_dirs = _lengths_and_directions(br_pts, skip=skip + 3, span=span)

    # --- drop short spurs (junction to free end) and tiny isolated bits.
    alive = []
    for b in range(len(br_pts)):
        ju, jv = is_junction[br_u[b]], is_junction[br_v[b]]
        spur = (ju != jv) and lengths[b] < spur_px
        alive.append(not spur)

    # --- merge junction clusters joined by short branches into zones.
    parent = list(range(n_nodes))

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    internal = [False] * len(br_pts)
    n_ends = [0] * n_nodes
    for b in range(len(br_pts)):
        if alive[b]:
            n_ends[br_u[b]] += 1
            n_ends[br_v[b]] += 1
    short = [
        b
        for b in range(len(br_pts))
        if alive[b] and is_junction[br_u[b]] and is_junction[br_v[b]] and lengths[b] < merge_px
    ]
    for b in sorted(short, key=lambda b: lengths[b]):
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

    directions = {}
    for b in range(len(br_pts)):
        if alive[b]:
            directions[(b, 0)] = end_dirs[b, 0]
            directions[(b, 1)] = end_dirs[b, 1]

    # --- a shallow crossing, or two hairs touching along a stretch, leaves two junctions joined by a shared
    # segment: merge them when their outer ends pair straighter together than apart.
    ends_at: dict[int, list[tuple[int, int]]] = {}
    for b in range(len(br_pts)):
        if alive[b] and not internal[b]:
            for e, node in ((0, br_u[b]), (1, br_v[b])):
                if is_junction[node]:
                    ends_at.setdefault(find(node), []).append((b, e))
    shared = [
        b
        for b in range(len(br_pts))
        if alive[b]
        and not internal[b]
        and is_junction[br_u[b]]
        and is_junction[br_v[b]]
        and lengths[b] < shared_px
    ]

    def matching_cost(ends):
        if len(ends) > 6:
            return np.inf
        if len(ends) < 2:
            return max_turn_deg * len(ends)
        dirs = np.array([directions[e] for e in ends])
        cost = np.degrees(np.arccos(np.clip(-(dirs @ dirs.T), -1.0, 1.0))).tolist()
        return _best_matching(cost, max_turn_deg=max_turn_deg, free_penalty=max_turn_deg)[1]

    for b in sorted(shared, key=lambda b: lengths[b]):
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

    # --- ends at each zone.
    zone_ends: dict[int, list[tuple[int, int]]] = {}
    zone_pixels: dict[int, list[np.ndarray]] = {}
    for b in range(len(br_pts)):
        if not alive[b]:
            continue
        if internal[b]:
            zone_pixels.setdefault(zone_of[br_u[b]], []).append(br_pts[b])
            continue
        for e, node in ((0, br_u[b]), (1, br_v[b])):
            if is_junction[node]:
                zone_ends.setdefault(zone_of[node], []).append((b, e))
    for p in np.flatnonzero(node_of >= 0):
        node = node_of[p]
        if node < n_clusters:
            zone_pixels.setdefault(zone_of[node], []).append(fcoords[p][None])

    partner: dict[tuple[int, int], tuple[int, int]] = {}
    via_zone: dict[tuple[int, int], int] = {}
    zone_centres = {}
    crossing_zones = set()
    n_ambiguous = 0
    n_unpaired = 0
    for z, ends in zone_ends.items():
        pix = np.concatenate(zone_pixels.get(z, [np.empty((0, 2))]))
        zone_centres[z] = pix.mean(axis=0) if len(pix) else oriented(*ends[0])[0]
        n = len(ends)
        if n < 2:
            n_unpaired += n
            continue
        dirs = np.array([directions[e] for e in ends])
        cost = np.degrees(np.arccos(np.clip(-(dirs @ dirs.T), -1.0, 1.0))).tolist()
        if n <= 6:
            pairs, best, second = _best_matching(cost, max_turn_deg=max_turn_deg, free_penalty=max_turn_deg)
            ambiguous = (second - best) < 12.0 or n >= 6
        else:
            pairs = _greedy_matching(cost, max_turn_deg=max_turn_deg)
            ambiguous = True
        if any(cost[i][j] > 0.6 * max_turn_deg for i, j in pairs):
            ambiguous = True
        pairs = _thread_loops(ends, pairs, cost)
        n_ambiguous += int(ambiguous)
        n_unpaired += n - 2 * len(pairs)
        for i, j in pairs:
            partner[ends[i]] = ends[j]
            partner[ends[j]] = ends[i]
            via_zone[ends[i]] = via_zone[ends[j]] = z
        if len(pairs) >= 2:
            crossing_zones.add(z)

    # --- join free ends across small gaps.
    # Ends left over at junctions take part too: in a tangle, the other half of a hair is often across
    # a neighbouring junction.
    free, free_zone = [], []
    for b in range(len(br_pts)):
        if not alive[b] or internal[b]:
            continue
        for e, node in ((0, br_u[b]), (1, br_v[b])):
            if (b, e) not in partner:
                free.append((b, e))
                free_zone.append(zone_of[node] if is_junction[node] else -1 - len(free))
    n_weak = 0
    n_near = 0
    if len(free) >= 2:
        tips = np.array([oriented(b, e)[0] for b, e in free])
        # The geometry of a gap is judged from a few pixels in from each tip, past a hook the skeleton makes
        # where the hair fades (the tips themselves still set the distance).
        hook = skip + 3
        inner = np.array([oriented(b, e)[min(hook, len(br_pts[b]) - 1)] for b, e in free])
        tree = cKDTree(tips)
        reach = gap_px if support is None else max(gap_px, long_gap_px)
        cand = _gap_candidates(
            tree.query_pairs(reach, output_type="ndarray"),
            tips=tips,
            inner=inner,
            dirs=np.array([gap_dirs[b, e] for b, e in free]).reshape(-1, 2),
            branch=np.array([b for b, _e in free]),
            branch_length=np.asarray(lengths, float),
            zone=np.asarray(free_zone),
            gap_px=gap_px,
            reach=reach,
        )
        n_near += cand.pop()
        # A long gap is bridged only along a straight line where the hair goes on, faint, under the
        # detection threshold; where it does not (a dark hair's sheen, a light hair's faint stretch), only
        # ends that point straight at each other are joined.
        cand = [
            c
            for c in cand
            if c[4] <= 10.0 or c[3] <= gap_px or _mean_along(support, tips[c[1]], tips[c[2]]) >= min_support
        ]
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

    order = [b for b in range(len(br_pts)) if alive[b] and not internal[b]]
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
    paths, closed_flags, ends_j, crossings = [], [], [], []
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
            crossing = (b, 1 - e) in partner and via_zone.get((b, 1 - e)) in crossing_zones
            if crossing and (k < len(seq) - 1 or closed):
                n_cross += 1
        if closed and parts:
            parts.append(_bridge(parts[-1][-1], parts[0][0]))
        path = np.concatenate(parts) if parts else np.empty((0, 2))
        if _path_length(path) < min_length_px:
            continue
        first, last = seq[0], seq[-1]
        if support is not None and not closed and len(path) > 4:
            # A tapering tip fades below the detection threshold: follow it while the line goes on.
            if (first[0], first[1]) not in partner and not is_junction[
                br_u[first[0]] if first[1] == 0 else br_v[first[0]]
            ]:
                path = np.concatenate([_extend_tip(path, support, tip_px, min_support)[::-1], path])
            if (last[0], 1 - last[1]) not in partner and not is_junction[
                br_v[last[0]] if last[1] == 0 else br_u[last[0]]
            ]:
                path = np.concatenate([path, _extend_tip(path[::-1], support, tip_px, min_support)])
        paths.append(path)
        closed_flags.append(bool(closed))
        ends_j.append(
            (
                (not closed) and bool(is_junction[br_u[first[0]] if first[1] == 0 else br_v[first[0]]]),
                (not closed) and bool(is_junction[br_v[last[0]] if last[1] == 0 else br_u[last[0]]]),
            )
        )
        crossings.append(n_cross)
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
    di, dj = dirs[i], dirs[j]
    gap = tips[j] - tips[i]
    dist = np.hypot(gap[:, 0], gap[:, 1])
    span = inner[j] - inner[i]
    span_len = np.hypot(span[:, 0], span[:, 1])
    turn = np.degrees(np.arccos(np.clip(-(di * dj).sum(axis=1), -1.0, 1.0)))
    offset = np.maximum(
        np.abs(di[:, 0] * span[:, 1] - di[:, 1] * span[:, 0]),
        np.abs(dj[:, 0] * span[:, 1] - dj[:, 1] * span[:, 0]),
    )
    forward = ((di * span).sum(axis=1) > 0) & ((dj * span).sum(axis=1) < 0)
    short = dist <= gap_px
    ok_short = short & (turn <= 35.0) & forward & (offset <= np.maximum(3.0, 0.3 * span_len))
    n_near = int((short & ~ok_short & (dist < 0.5 * gap_px)).sum())
    unit = gap / np.maximum(dist, 1e-9)[:, None]
    dev = np.maximum.reduce(
        [
            np.degrees(np.arccos(np.clip((di * unit).sum(axis=1), -1.0, 1.0))),
            np.degrees(np.arccos(np.clip(-(dj * unit).sum(axis=1), -1.0, 1.0))),
            turn,
        ]
    )
    ok_long = ~short & (dev <= 20.0)
    cand = [
        (float(d / gap_px + t / 35.0), int(a), int(b), float(d), float(t))
        for a, b, d, t in zip(i[ok_short], j[ok_short], dist[ok_short], turn[ok_short], strict=True)
    ]
    cand += [
        (float(1.0 + d / reach + v / 35.0), int(a), int(b), float(d), float(v))
        for a, b, d, v in zip(i[ok_long], j[ok_long], dist[ok_long], dev[ok_long], strict=True)
    ]
    return [*cand, n_near]


def _extend_tip(path, support, max_px, min_support, share=0.5):
    """Points beyond ``path[0]``, straight on, while `support` stays above `min_support` and `share` of its
    level on the hair's last stretch (two misses in a row end it)."""
    k = min(len(path) - 1, 8)
    direction = path[0] - path[k]
    norm = float(np.hypot(*direction))
    if norm == 0 or max_px < 1:
        return np.empty((0, 2))

    def values_at(points):
        rows = np.clip(np.round(points[:, 0]).astype(int), 0, support.shape[0] - 1)
        cols = np.clip(np.round(points[:, 1]).astype(int), 0, support.shape[1] - 1)
        return support[rows, cols], (points[:, 0] >= 0) & (points[:, 0] <= support.shape[0] - 1) & (
            points[:, 1] >= 0
        ) & (points[:, 1] <= support.shape[1] - 1)

    own, _ = values_at(path[: min(len(path), 20)])
    level = max(min_support, share * float(np.median(own)))
    steps = path[0] + np.arange(1, int(max_px) + 1)[:, None] * (direction / norm)
    values, inside = values_at(steps)
    good = (values >= level) & inside
    n_good = 0
    misses = 0
    for i, ok in enumerate(good.tolist()):
        if ok:
            n_good, misses = i + 1, 0
        else:
            misses += 1
            if misses >= 2 or not inside[i]:
                break
    return steps[:n_good]


def _mean_along(image, a, b):
    """Mean of `image` (nearest pixel) on the segment from `a` to `b`, leaving out two pixels at each end."""
    dist = float(np.hypot(*(b - a)))
    n = int(dist)
    if n < 5:
        return np.inf
    t = np.arange(2, n - 1) / n
    pts = np.round(a + t[:, None] * (b - a)).astype(int)
    rows = np.clip(pts[:, 0], 0, image.shape[0] - 1)
    cols = np.clip(pts[:, 1], 0, image.shape[1] - 1)
    return float(image[rows, cols].mean())


def _bridge(a, b):
    """Points strictly between a and b at about one pixel spacing."""
    dist = float(np.hypot(*(b - a)))
    n = int(dist)
    if n < 1:
        return np.empty((0, 2))
    t = (np.arange(1, n + 1) / (n + 1))[:, None]
    return a + t * (b - a)


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


def path_length(path_rc) -> float:
    """Length of a polyline, in its pixel units."""
    return _path_length(np.asarray(path_rc, float))
