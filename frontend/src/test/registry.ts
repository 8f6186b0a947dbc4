// A subset of GET /api/registry/ (codegen.registry_json()), for unit tests.
import type { Registry } from "../graph";

export const REGISTRY: Registry = {
 "engine_version": "0.1.0",
 "graph_version": "0.2",
 "categories": [
  {
   "name": "io",
   "color": "#0ea5e9"
  },
  {
   "name": "linear",
   "color": "#6366f1"
  },
  {
   "name": "conv",
   "color": "#8b5cf6"
  },
  {
   "name": "norm",
   "color": "#14b8a6"
  },
  {
   "name": "activation",
   "color": "#f59e0b"
  },
  {
   "name": "dropout",
   "color": "#94a3b8"
  },
  {
   "name": "pool",
   "color": "#22c55e"
  },
  {
   "name": "reshape",
   "color": "#64748b"
  },
  {
   "name": "merge",
   "color": "#ef4444"
  },
  {
   "name": "recurrent",
   "color": "#ec4899"
  },
  {
   "name": "attention",
   "color": "#d946ef"
  },
  {
   "name": "sampling",
   "color": "#84cc16"
  },
  {
   "name": "embedding",
   "color": "#0891b2"
  },
  {
   "name": "block",
   "color": "#f97316"
  }
 ],
 "nodes": [
  {
   "type": "ReLU",
   "category": "activation",
   "doc": "max(0, x).",
   "params": [],
   "ports": [
    "x"
   ],
   "variadic": false,
   "min_inputs": 1,
   "max_inputs": 1,
   "outputs": 1,
   "aliases": [
    "Relu"
   ],
   "summary": [],
   "color": "#f59e0b",
   "composite": false
  },
  {
   "type": "Dropout",
   "category": "dropout",
   "doc": "Zeroes elements with probability p during training.",
   "params": [
    {
     "name": "p",
     "type": "float",
     "doc": "Probability of zeroing an element.",
     "required": false,
     "default": 0.5,
     "min": 0.0,
     "max": 1.0,
     "max_exclusive": true
    }
   ],
   "ports": [
    "x"
   ],
   "variadic": false,
   "min_inputs": 1,
   "max_inputs": 1,
   "outputs": 1,
   "aliases": [],
   "summary": [
    "p"
   ],
   "color": "#94a3b8",
   "composite": false
  },
  {
   "type": "GRU",
   "category": "recurrent",
   "doc": "Gated recurrent unit over (B, T, H); outputs the whole sequence (B, T, H\u00b7dirs).",
   "params": [
    {
     "name": "hidden_size",
     "type": "int",
     "doc": "Features in the hidden state.",
     "required": true,
     "min": 1,
     "max": 100000
    },
    {
     "name": "num_layers",
     "type": "int",
     "doc": "Stacked recurrent layers.",
     "required": false,
     "default": 1,
     "min": 1,
     "max": 64
    },
    {
     "name": "bidirectional",
     "type": "bool",
     "doc": "Also run the sequence backwards; doubles the output features.",
     "required": false,
     "default": false
    },
    {
     "name": "dropout",
     "type": "float",
     "doc": "Dropout between stacked layers.",
     "required": false,
     "default": 0.0,
     "min": 0.0,
     "max": 1.0,
     "max_exclusive": true
    },
    {
     "name": "bias",
     "type": "bool",
     "doc": "Learn bias weights.",
     "required": false,
     "default": true
    }
   ],
   "ports": [
    "x"
   ],
   "variadic": false,
   "min_inputs": 1,
   "max_inputs": 1,
   "outputs": 1,
   "aliases": [],
   "summary": [
    "hidden_size",
    "num_layers"
   ],
   "color": "#ec4899",
   "composite": false
  },
  {
   "type": "Conv1d",
   "category": "conv",
   "doc": "Convolution over (B, C, T); a Lazy layer infers in_channels when the input shape is unknown.",
   "params": [
    {
     "name": "out_channels",
     "type": "int",
     "doc": "Output channels.",
     "required": true,
     "min": 1,
     "max": 1000000
    },
    {
     "name": "kernel_size",
     "type": "ints",
     "doc": "Window size.",
     "required": false,
     "default": 3,
     "min": 1,
     "max": 10000,
     "length": 1
    },
    {
     "name": "stride",
     "type": "ints",
     "doc": "Step between windows.",
     "required": false,
     "default": 1,
     "min": 1,
     "max": 10000,
     "length": 1
    },
    {
     "name": "padding",
     "type": "padding",
     "doc": "Zero padding per side, or \"same\" / \"valid\".",
     "required": false,
     "default": 0,
     "min": 0,
     "max": 10000,
     "length": 1
    },
    {
     "name": "dilation",
     "type": "ints",
     "doc": "Spacing between kernel taps.",
     "required": false,
     "default": 1,
     "min": 1,
     "max": 10000,
     "length": 1
    },
    {
     "name": "groups",
     "type": "int",
     "doc": "Blocked connections; in and out channels must divide.",
     "required": false,
     "default": 1,
     "min": 1,
     "max": 1000000
    },
    {
     "name": "bias",
     "type": "bool",
     "doc": "Learn an additive bias.",
     "required": false,
     "default": true
    }
   ],
   "ports": [
    "x"
   ],
   "variadic": false,
   "min_inputs": 1,
   "max_inputs": 1,
   "outputs": 1,
   "aliases": [],
   "summary": [
    "out_channels",
    "kernel_size",
    "stride"
   ],
   "color": "#8b5cf6",
   "composite": false
  },
  {
   "type": "Conv2d",
   "category": "conv",
   "doc": "Convolution over (B, C, H, W); a Lazy layer infers in_channels when the input shape is unknown.",
   "params": [
    {
     "name": "out_channels",
     "type": "int",
     "doc": "Output channels.",
     "required": true,
     "min": 1,
     "max": 1000000
    },
    {
     "name": "kernel_size",
     "type": "ints",
     "doc": "Window size.",
     "required": false,
     "default": 3,
     "min": 1,
     "max": 10000,
     "length": 2
    },
    {
     "name": "stride",
     "type": "ints",
     "doc": "Step between windows.",
     "required": false,
     "default": 1,
     "min": 1,
     "max": 10000,
     "length": 2
    },
    {
     "name": "padding",
     "type": "padding",
     "doc": "Zero padding per side, or \"same\" / \"valid\".",
     "required": false,
     "default": 0,
     "min": 0,
     "max": 10000,
     "length": 2
    },
    {
     "name": "dilation",
     "type": "ints",
     "doc": "Spacing between kernel taps.",
     "required": false,
     "default": 1,
     "min": 1,
     "max": 10000,
     "length": 2
    },
    {
     "name": "groups",
     "type": "int",
     "doc": "Blocked connections; in and out channels must divide.",
     "required": false,
     "default": 1,
     "min": 1,
     "max": 1000000
    },
    {
     "name": "bias",
     "type": "bool",
     "doc": "Learn an additive bias.",
     "required": false,
     "default": true
    }
   ],
   "ports": [
    "x"
   ],
   "variadic": false,
   "min_inputs": 1,
   "max_inputs": 1,
   "outputs": 1,
   "aliases": [
    "Conv"
   ],
   "summary": [
    "out_channels",
    "kernel_size",
    "stride"
   ],
   "color": "#8b5cf6",
   "composite": false
  },
  {
   "type": "Input",
   "category": "io",
   "doc": "A model input. `shape` excludes the batch axis, e.g. [9, 256] for (B, C, T) or [3, 224, 224].",
   "params": [
    {
     "name": "shape",
     "type": "int_list",
     "doc": "Sizes without the batch axis; leave empty to infer layers lazily.",
     "required": false,
     "default": null,
     "min": 1,
     "max": 1000000,
     "nullable": true,
     "min_length": 1,
     "max_length": 4
    },
    {
     "name": "dtype",
     "type": "choice",
     "doc": "float32 features or int64 token ids.",
     "required": false,
     "default": "float32",
     "choices": [
      "float32",
      "int64"
     ]
    },
    {
     "name": "layout",
     "type": "choice",
     "doc": "For rank-3 inputs: channels-first (B, C, T) or sequence (B, T, H).",
     "required": false,
     "default": "auto",
     "choices": [
      "auto",
      "BCT",
      "BTH"
     ]
    },
    {
     "name": "vocab_size",
     "type": "int",
     "doc": "For int64 inputs: token ids are drawn from [0, vocab_size) in smoke runs.",
     "required": false,
     "default": null,
     "min": 1,
     "max": 10000000,
     "nullable": true
    }
   ],
   "ports": [],
   "variadic": false,
   "min_inputs": 0,
   "max_inputs": 0,
   "outputs": 1,
   "aliases": [],
   "summary": [
    "shape"
   ],
   "color": "#0ea5e9",
   "composite": false
  },
  {
   "type": "Linear",
   "category": "linear",
   "doc": "Fully connected layer on the last axis: y = x W\u1d40 + b.",
   "params": [
    {
     "name": "out_features",
     "type": "int",
     "doc": "Output features.",
     "required": true,
     "min": 1,
     "max": 1000000
    },
    {
     "name": "bias",
     "type": "bool",
     "doc": "Learn an additive bias.",
     "required": false,
     "default": true
    }
   ],
   "ports": [
    "x"
   ],
   "variadic": false,
   "min_inputs": 1,
   "max_inputs": 1,
   "outputs": 1,
   "aliases": [
    "Dense",
    "FC"
   ],
   "summary": [
    "out_features"
   ],
   "color": "#6366f1",
   "composite": false
  },
  {
   "type": "Bilinear",
   "category": "linear",
   "doc": "Bilinear layer y = x1\u1d40 A x2 + b over the last axes of two inputs.",
   "params": [
    {
     "name": "out_features",
     "type": "int",
     "doc": "Output features.",
     "required": true,
     "min": 1,
     "max": 1000000
    },
    {
     "name": "bias",
     "type": "bool",
     "doc": "Learn an additive bias.",
     "required": false,
     "default": true
    }
   ],
   "ports": [
    "x1",
    "x2"
   ],
   "variadic": false,
   "min_inputs": 2,
   "max_inputs": 2,
   "outputs": 1,
   "aliases": [],
   "summary": [
    "out_features"
   ],
   "color": "#6366f1",
   "composite": false
  },
  {
   "type": "Concat",
   "category": "merge",
   "doc": "Concatenates inputs along `dim`; every other axis must match.",
   "params": [
    {
     "name": "dim",
     "type": "int",
     "doc": "Axis to concatenate along (1 = channels).",
     "required": false,
     "default": 1,
     "min": -5,
     "max": 5
    }
   ],
   "ports": [
    "x"
   ],
   "variadic": true,
   "min_inputs": 2,
   "max_inputs": null,
   "outputs": 1,
   "aliases": [
    "Cat"
   ],
   "summary": [
    "dim"
   ],
   "color": "#ef4444",
   "composite": false
  },
  {
   "type": "Add",
   "category": "merge",
   "doc": "Element-wise sum of inputs of identical shape (residual connections).",
   "params": [],
   "ports": [
    "x"
   ],
   "variadic": true,
   "min_inputs": 2,
   "max_inputs": null,
   "outputs": 1,
   "aliases": [
    "Sum"
   ],
   "summary": [],
   "color": "#ef4444",
   "composite": false
  },
  {
   "type": "Mul",
   "category": "merge",
   "doc": "Element-wise product; size-1 axes broadcast (gating, squeeze-and-excitation scaling).",
   "params": [],
   "ports": [
    "x"
   ],
   "variadic": true,
   "min_inputs": 2,
   "max_inputs": null,
   "outputs": 1,
   "aliases": [
    "Multiply"
   ],
   "summary": [],
   "color": "#ef4444",
   "composite": false
  },
  {
   "type": "Chunk",
   "category": "merge",
   "doc": "Splits into `chunks` equal pieces along `dim`; connect from `node:0`, `node:1`, \u2026.",
   "params": [
    {
     "name": "chunks",
     "type": "int",
     "doc": "Number of equal pieces.",
     "required": false,
     "default": 2,
     "min": 2,
     "max": 64
    },
    {
     "name": "dim",
     "type": "int",
     "doc": "Axis to split.",
     "required": false,
     "default": 1,
     "min": -5,
     "max": 5
    }
   ],
   "ports": [
    "x"
   ],
   "variadic": false,
   "min_inputs": 1,
   "max_inputs": 1,
   "outputs": "param",
   "aliases": [],
   "summary": [
    "chunks",
    "dim"
   ],
   "color": "#ef4444",
   "composite": false
  },
  {
   "type": "Split",
   "category": "merge",
   "doc": "Splits along `dim` into pieces of the given sizes; connect from `node:0`, `node:1`, \u2026.",
   "params": [
    {
     "name": "sections",
     "type": "int_list",
     "doc": "Size of each piece.",
     "required": true,
     "min": 1,
     "max": 1000000,
     "min_length": 2,
     "max_length": 64
    },
    {
     "name": "dim",
     "type": "int",
     "doc": "Axis to split.",
     "required": false,
     "default": 1,
     "min": -5,
     "max": 5
    }
   ],
   "ports": [
    "x"
   ],
   "variadic": false,
   "min_inputs": 1,
   "max_inputs": 1,
   "outputs": "param",
   "aliases": [],
   "summary": [
    "sections",
    "dim"
   ],
   "color": "#ef4444",
   "composite": false
  },
  {
   "type": "BatchNorm1d",
   "category": "norm",
   "doc": "Batch normalisation over (B, C) or (B, C, T).",
   "params": [
    {
     "name": "eps",
     "type": "float",
     "doc": "Added to the variance for numerical stability.",
     "required": false,
     "default": 1e-05,
     "min": 0.0,
     "max": 1.0
    },
    {
     "name": "momentum",
     "type": "float",
     "doc": "Running statistics update rate.",
     "required": false,
     "default": 0.1,
     "min": 0.0,
     "max": 1.0
    },
    {
     "name": "affine",
     "type": "bool",
     "doc": "Learn a per-channel scale and shift.",
     "required": false,
     "default": true
    }
   ],
   "ports": [
    "x"
   ],
   "variadic": false,
   "min_inputs": 1,
   "max_inputs": 1,
   "outputs": 1,
   "aliases": [],
   "summary": [],
   "color": "#14b8a6",
   "composite": false
  },
  {
   "type": "Flatten",
   "category": "reshape",
   "doc": "Flattens axes start_dim..end_dim into one: (B, C, H, W) \u2192 (B, C\u00b7H\u00b7W).",
   "params": [
    {
     "name": "start_dim",
     "type": "int",
     "doc": "First axis to flatten (not the batch).",
     "required": false,
     "default": 1,
     "min": -5,
     "max": 5
    },
    {
     "name": "end_dim",
     "type": "int",
     "doc": "Last axis to flatten.",
     "required": false,
     "default": -1,
     "min": -5,
     "max": 5
    }
   ],
   "ports": [
    "x"
   ],
   "variadic": false,
   "min_inputs": 1,
   "max_inputs": 1,
   "outputs": 1,
   "aliases": [],
   "summary": [],
   "color": "#64748b",
   "composite": false
  },
  {
   "type": "Permute_BCT_to_BTH",
   "category": "reshape",
   "doc": "(B, C, T) \u2192 (B, T, H): channels-first to sequence layout, before an RNN.",
   "params": [],
   "ports": [
    "x"
   ],
   "variadic": false,
   "min_inputs": 1,
   "max_inputs": 1,
   "outputs": 1,
   "aliases": [],
   "summary": [],
   "color": "#64748b",
   "composite": false
  },
  {
   "type": "SEBlock",
   "category": "block",
   "doc": "Squeeze-and-excitation: rescales each channel by a learned gate; (B, C, ...) in and out.",
   "params": [
    {
     "name": "reduction",
     "type": "int",
     "doc": "Reduction ratio r: the gate's MLP is C \u2192 C // r \u2192 C.",
     "required": false,
     "default": 16,
     "min": 1,
     "max": 100000
    }
   ],
   "ports": [
    "x"
   ],
   "variadic": false,
   "min_inputs": 1,
   "max_inputs": 1,
   "outputs": 1,
   "aliases": [],
   "summary": [
    "reduction"
   ],
   "color": "#f97316",
   "composite": true,
   "paper": "Hu, Shen and Sun, Squeeze-and-Excitation Networks, CVPR 2018 (arXiv:1709.01507)"
  }
 ],
 "diagnostic_codes": {}
}
;
