import cv2
import numpy as np
import pytest
from skimage.draw import line as draw_line
from skimage.morphology import skeletonize

from trichotrack.measure import quality, ridge, trace


def _skeleton(shape, segments):
    sk = np.zeros(shape, bool)
    for (r0, c0), (r1, c1) in segments:
        rr, cc = draw_line(r0, c0, r1, c1)
        sk[rr, cc] = True
    return sk


def test_pixel_graph_has_no_triangles_on_a_staircase():
    sk = np.zeros((10, 10), bool)
    sk[2, 2:5] = True
    sk[3, 4:7] = True  # a step: (2,4) and (3,4) and (3,5) would form a triangle with diagonals
    coords, neighbours, degree = trace.pixel_graph(sk)
    assert sorted(degree.tolist()) == [1, 1, 2, 2, 2, 2]
    assert neighbours.shape == (6, 8) and coords.shape == (6, 2)


def test_an_x_on_a_skeleton_is_two_hairs_through_one_crossing():
    sk = _skeleton((200, 200), [((20, 20), (180, 180)), ((20, 180), (180, 20))])
    traced = trace.trace_skeleton(sk, width_px=1.0)
    assert len(traced.paths) == 2
    assert len(traced.crossings_rc) == 1
    np.testing.assert_allclose(traced.crossings_rc[0], (100, 100), atol=2)
    for path in traced.paths:
        ends = path[[0, -1]]
        assert abs(ends[0, 0] - ends[1, 0]) > 150 and abs(ends[0, 1] - ends[1, 1]) > 150
    assert traced.crossings == (1, 1)


def test_a_t_junction_leaves_the_touching_hair_end_free():
    sk = _skeleton((200, 200), [((100, 10), (100, 190)), ((20, 100), (99, 100))])
    traced = trace.trace_skeleton(sk, width_px=1.0)
    assert len(traced.paths) == 2
    lengths = sorted(trace.path_length(p) for p in traced.paths)
    assert lengths[1] == pytest.approx(180, rel=0.03)
    assert sum(j for ends in traced.ends_at_junction for j in ends) == 1


def test_a_small_gap_in_a_line_is_bridged():
    sk = _skeleton((100, 300), [((50, 10), (50, 140)), ((50, 146), (50, 290))])
    traced = trace.trace_skeleton(sk, width_px=1.0)
    assert len(traced.paths) == 1


def test_smoothing_removes_the_staircase_overestimate():
    rr, cc = draw_line(0, 0, 100, 250)
    pixels = np.stack([rr, cc], axis=1).astype(float)
    raw = trace.path_length(pixels)
    smooth = trace.path_length(trace.smooth_path(pixels, sigma_px=2.0))
    true = float(np.hypot(100, 250))
    assert raw > 1.03 * true
    assert smooth == pytest.approx(true, rel=0.01)


def test_edge_width_of_a_blurred_line_grows_with_the_blur():
    x = np.arange(-10, 10.01, 0.5)
    rises = [quality.edge_width_px(np.exp(-(x**2) / (2 * s**2)), step_px=0.5)[0] for s in (0.8, 2.0)]
    assert rises[0] == pytest.approx(1.69 * 0.8, rel=0.15)
    assert rises[1] == pytest.approx(1.69 * 2.0, rel=0.15)


def test_line_filter_keeps_lines_and_drops_step_edges():
    image = np.zeros((120, 120), np.float32)
    image[:, 60:] = 50.0  # a step edge
    image[30, :] += 50.0  # a bright line across it
    strength, raw, polarity = ridge.line_strength(cv2.GaussianBlur(image, (0, 0), 0.7), polarity=1)
    assert polarity == 1
    assert strength[30, 20] > 10 * max(strength[80, 55:66].max(), 1e-3)
    assert raw[80, 55:66].max() > 0  # the plain response does see the edge


def test_a_hair_that_loops_and_crosses_itself_stays_one_hair():
    # A prolate cycloid: the line comes in from the left, turns round a loop crossing itself once, leaves.
    t = np.linspace(-4.0, 4.0, 4000)
    curve = np.stack([120 + 25 * 2.0 * np.cos(t), 160 + 25 * (t - 2.0 * np.sin(t))], axis=1)
    sk = np.zeros((240, 320), bool)
    pts = np.round(curve).astype(int)
    sk[pts[:, 0], pts[:, 1]] = True
    traced = trace.trace_skeleton(skeletonize(sk), width_px=1.0)
    assert len(traced.paths) == 1
    assert not traced.closed[0]
    assert traced.crossings == (2,)  # a self-crossing counts on each pass
    length = trace.path_length(trace.smooth_path(traced.paths[0]))
    assert length == pytest.approx(trace.path_length(curve), rel=0.03)


def test_a_gap_where_the_skeleton_hooks_sideways_is_bridged():
    # A faint stretch: the skeleton's last pixels before it hook sideways; the gap's geometry is judged from
    # further in, where the line runs straight on.
    sk = _skeleton((100, 300), [((50, 10), (50, 140)), ((51, 141), (55, 145)), ((50, 151), (50, 290))])
    traced = trace.trace_skeleton(sk, width_px=1.0)
    assert len(traced.paths) == 1


def test_a_hair_bent_back_on_itself_is_one_hair_out_along_its_point_and_back():
    # A kink of curly hair: two arms meet at a sharp point and touch for a few pixels before it; the
    # skeleton is a junction of the two arms and a short stem that ends free.
    arm_a, arm_b, stem = ((20, 40), (100, 150)), ((180, 40), (100, 150)), ((100, 150), (100, 158))
    sk = _skeleton((200, 200), [arm_a, arm_b, stem])
    traced = trace.trace_skeleton(sk, width_px=1.0)
    assert len(traced.paths) == 1
    assert not any(j for ends in traced.ends_at_junction for j in ends)
    true_length = 2 * np.hypot(80, 110) + 2 * 8
    assert trace.path_length(trace.smooth_path(traced.paths[0])) == pytest.approx(true_length, rel=0.03)
    # Without the rule, one arm goes on into the stem and the other ends at the junction: two pieces.
    assert len(trace.trace_skeleton(sk, width_px=1.0, hairpin_deg=0).paths) == 2
    # A long stem is a hair of its own (two hairs meeting it), not a point.
    long_stem = _skeleton((200, 260), [arm_a, arm_b, ((100, 150), (100, 240))])
    assert len(trace.trace_skeleton(long_stem, width_px=1.0).paths) == 2


def test_ends_side_by_side_are_not_joined():
    # Two parallel lines whose ends lie 6 px apart across them are two hairs, not one that turns back.
    sk = _skeleton((100, 300), [((50, 10), (50, 150)), ((56, 150), (56, 290))])
    traced = trace.trace_skeleton(sk, width_px=1.0)
    assert len(traced.paths) == 2


def test_pixel_graph_lists_valid_neighbours_first_in_offset_order():
    sk = np.zeros((5, 5), bool)
    sk[2, 1:4] = True  # a horizontal line ...
    sk[1, 2] = True  # ... with a pixel above its middle
    coords, neighbours, degree = trace.pixel_graph(sk)
    middle = int(np.flatnonzero((coords == (2, 2)).all(axis=1))[0])
    found = [tuple(coords[i]) for i in neighbours[middle, : degree[middle]]]
    assert found == [(1, 2), (2, 3), (2, 1)]  # up, right, left: the order of trace._OFFSETS
    assert (neighbours[middle, degree[middle] :] == -1).all()


def test_branches_run_from_node_to_node_and_loops_close():
    sk = _skeleton((60, 60), [((10, 10), (10, 40)), ((10, 25), (40, 25))])  # a T
    sk[50:53, 50:53] = True
    sk[51, 51] = False  # a ring of 8 pixels, no node
    _coords, nb, degree = trace.pixel_graph(sk)
    node_of, n_clusters, _n_nodes, u, v, px, offset, size, loops = trace._branches(nb, degree)
    assert n_clusters == 1 and len(u) == 3
    for b in range(len(u)):
        pixels = px[offset[b] : offset[b] + size[b]]
        assert node_of[pixels[0]] == u[b] and node_of[pixels[-1]] == v[b]
        assert (node_of[pixels[1:-1]] == -1).all()
    assert sorted(size.tolist()) == [16, 16, 31]
    assert len(loops) == 1 and len(loops[0]) == 8


def test_an_empty_or_dotted_skeleton_has_no_hairs():
    assert trace.trace_skeleton(np.zeros((30, 30), bool)).paths == ()
    dots = np.zeros((30, 30), bool)
    dots[5, 5] = dots[20, 20] = True
    assert trace.trace_skeleton(dots).paths == ()


def test_smooth_paths_gives_what_smooth_path_gives_one_by_one():
    rng = np.random.default_rng(0)
    paths = [np.cumsum(rng.normal(0, 1, (int(n), 2)), axis=0) for n in rng.integers(1, 60, 200)]
    closed = [bool(k % 5 == 0 and len(p) > 3) for k, p in enumerate(paths)]
    paths = [np.concatenate([p, p[:1]]) if c else p for p, c in zip(paths, closed, strict=True)]
    for sigma in (1.5, 2.0):
        together = trace.smooth_paths(paths, closed, sigma_px=sigma)
        for path, is_closed, smooth in zip(paths, closed, together, strict=True):
            np.testing.assert_array_equal(smooth, trace.smooth_path(path, closed=is_closed, sigma_px=sigma))


def test_tips_are_followed_while_the_line_evidence_holds():
    support = np.zeros((40, 80), np.float32)
    support[20, 10:50] = 5.0  # the line goes on faintly to column 49
    support[20, 52] = 5.0  # (a lone bright pixel after a two-pixel miss is not reached)
    path = np.stack([np.full(11, 20.0), np.arange(30.0, 19.0, -1)], axis=1)  # from column 30 back to 20
    reverse = path[::-1]  # from column 20 on to 30: its tip at 20 looks back over columns 19, 18, ...
    ahead, behind = trace._extend_tips([reverse, path], support, 30.0, 2.0)
    np.testing.assert_array_equal(ahead[:, 1], np.arange(19.0, 9.0, -1))  # to column 10, where it ends
    np.testing.assert_array_equal(behind[:, 1], np.arange(31.0, 50.0))  # to column 49
    assert trace._extend_tips([], support, 30.0, 2.0) == []


def test_edge_widths_of_many_profiles_are_those_of_each():
    rng = np.random.default_rng(0)
    x = np.arange(33) - 16.0
    profiles = [
        np.exp(-((x - rng.normal(0, 3)) ** 2) / (2 * rng.uniform(0.5, 6) ** 2)) * rng.uniform(-1, 2)
        + rng.normal(0, rng.uniform(0, 0.3), 33)
        for _ in range(300)
    ]
    profiles += [np.zeros(33), np.r_[1.0, np.zeros(32)], np.round(profiles[0], 1)]
    profiles = np.array(profiles, np.float32)
    one_by_one = np.array([quality.edge_width_px(p, step_px=0.5) for p in profiles])
    np.testing.assert_array_equal(quality.edge_widths_px(profiles, step_px=0.5), one_by_one)
    assert np.isfinite(one_by_one).all(axis=1).sum() > 100  # (most have a peak and two edges)


def test_path_lengths_give_what_path_length_gives_one_by_one():
    rng = np.random.default_rng(1)
    paths = [np.cumsum(rng.normal(0, 1, (int(n), 2)), axis=0) for n in rng.integers(0, 80, 300)]
    lengths = trace.path_lengths(paths)
    assert lengths.tolist() == [trace.path_length(p) for p in paths]  # (the same numbers, not close ones)
    assert trace.path_lengths([]).shape == (0,)


def test_best_matching_pairs_straight_through_and_keeps_the_first_of_equal_costs():
    straight = [[0.0, 180.0, 10.0, 170.0], [180.0, 0.0, 170.0, 10.0], [10.0, 170.0, 0.0, 180.0]]
    straight.append([170.0, 10.0, 180.0, 0.0])
    pairs, best, second = trace._best_matching(straight, max_turn_deg=50.0, free_penalty=50.0)
    assert pairs == [(0, 2), (1, 3)]
    assert (best, second) == (20.0, 110.0)  # (next: one pair, two ends free)
    tie = [[0.0, 20.0, 20.0], [20.0, 0.0, 90.0], [20.0, 90.0, 0.0]]
    pairs, best, second = trace._best_matching(tie, max_turn_deg=50.0, free_penalty=50.0)
    assert pairs == [(0, 1)] and best == second == 70.0


def test_means_along_segments_are_those_of_each_segment():
    rng = np.random.default_rng(2)
    image = rng.random((60, 80)).astype(np.float32)
    a = rng.uniform(0, 60, (50, 2))
    b = a + rng.normal(0, 15, (50, 2))
    means = trace._means_along(image, a, b)
    for start, stop, mean in zip(a, b, means, strict=True):
        n = int(np.hypot(*(stop - start)))
        if n < 5:
            assert mean == np.inf
            continue
        pts = np.round(start + (np.arange(2, n - 1) / n)[:, None] * (stop - start)).astype(int)
        values = image[np.clip(pts[:, 0], 0, 59), np.clip(pts[:, 1], 0, 79)]
        assert mean == float(values.mean())
