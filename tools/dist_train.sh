#!/usr/bin/env bash
# Distributed training on one or several nodes, as MMDetection's tools/dist_train.sh:
#   bash tools/dist_train.sh CONFIG GPUS [train.py arguments...]
# NNODES, NODE_RANK, PORT and MASTER_ADDR select the rendezvous as in MMDetection.
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}

PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
python -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$(dirname "$0")/train.py" \
    "$CONFIG" \
    --launcher pytorch "${@:3}"
