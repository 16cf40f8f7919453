"""The notebook's plotting cells 22 (plot_vg) and 24 (plotline), re-written for a test: they read our
model_map_v2.json the way the notebook reads its own (json -> numpy array per component) and draw every component.
Usage: notebook_plots.py <model_map_v2.json> <image folder>. Prints one line per image written."""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402

map_path, img_dir = sys.argv[1], sys.argv[2]
with open(map_path) as f:
    cmj = json.load(f)
model_list = cmj["ml"]
cmp_dm = {k: np.array(v) for k, v in cmj["dm"].items()}


def plot_vg(dmk, dmv, d):
    mgm = {i: model_list[i] for i in range(len(model_list))}
    G = nx.from_numpy_array(dmv)
    # the notebook: "np.zero = no such comparasion = can skip"
    if nx.number_of_edges(G) == 0:
        print(f"skip {dmk}: no edges")
        return
    G = nx.relabel_nodes(G, mgm)
    for eg in G.edges(data=True):
        eg[2]["inverse_weight"] = 0.0 if eg[2]["weight"] == 0.0 else 1.0 / eg[2]["weight"]
    pos = nx.spectral_layout(G, weight="inverse_weight")
    edge_labels = {(u, v): f"{a['weight']:.4f}" for u, v, a in G.edges(data=True)}
    plt.figure(1, figsize=(16, 12))
    nx.draw_networkx(G, pos)
    nx.draw_networkx_labels(G, pos)
    nx.draw_networkx_edge_labels(G, pos, edge_labels=edge_labels)
    plt.title(f"{d.upper()} Distance of {dmk.upper()}")
    out = f"{img_dir}/{dmk}_vg.png"
    plt.savefig(out)
    plt.close()
    print(f"vg {dmk} {G.number_of_edges()} edges {out}")


def plotline(dmk, dmv, d):
    x_arr = [m[:10] for m in model_list]
    y_arr = dmv[0]
    plt.figure(1, figsize=(16, 12))
    plt.plot(x_arr, y_arr, label="line")
    plt.xlabel("Model")
    plt.ylabel(d.upper())
    plt.title(f"{d.upper()} Distance of {dmk.upper()}")
    out = f"{img_dir}/{dmk}_xy.png"
    plt.savefig(out)
    plt.close()
    print(f"xy {dmk} {out}")


for cdmk in cmp_dm.keys():
    plot_vg(cdmk, cmp_dm[cdmk], "l2")
for cdmk in cmp_dm.keys():
    plotline(cdmk, cmp_dm[cdmk], "l2")
