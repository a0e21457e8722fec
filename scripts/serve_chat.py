#!/usr/bin/env python3
"""Serve a GGUF chat model through llama.cpp's OpenAI-compatible HTTP server.

Used by scripts/models.sh for ragcore's end-to-end tests. It relies on the
prebuilt `xllamacpp` wheel (PyPI), whose `Server` starts llama.cpp's native
C++ server (/v1/chat/completions, /v1/models, /health, ...) on a background
thread; this process only has to stay alive until it gets SIGTERM/SIGINT.

    python scripts/serve_chat.py --model SmolLM2-135M-Instruct.Q4_1.gguf \
        --port 18081 --alias smollm2-135m-instruct --threads 1
"""
import argparse
import os
import signal
import sys
import threading


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="path to the .gguf file")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=18081)
    ap.add_argument("--alias", default="smollm2-135m-instruct",
                    help="model name reported by /v1/models and in responses")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ctx-size", type=int, default=4096)
    ap.add_argument("--parallel", type=int, default=1)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args(argv)

    if not os.path.isfile(a.model):
        sys.exit("serve_chat.py: model file not found: %s" % a.model)
    os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))

    import xllamacpp as xlc

    p = xlc.CommonParams()
    p.model.path = a.model
    p.model_alias = {a.alias}
    p.hostnames = [a.host]
    p.port = a.port
    p.n_ctx = a.ctx_size
    p.n_parallel = a.parallel
    p.n_gpu_layers = 0
    p.cpuparams.n_threads = a.threads
    p.cpuparams_batch.n_threads = a.threads
    p.n_threads_http = 2
    p.offline = True
    p.sampling.seed = a.seed

    server = xlc.Server(p)  # loads the model and starts HTTP in a thread
    print("serve_chat: %s serving %s as %r (threads=%d, ctx=%d)"
          % (server.listening_address, a.model, a.alias, a.threads, a.ctx_size),
          flush=True)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(3600):
        pass
    # The native server thread is not joinable from Python; skip finalizers.
    os._exit(0)


if __name__ == "__main__":
    main()
