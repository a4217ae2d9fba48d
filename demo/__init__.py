"""The web demo: the Gradio page, its serving and its command line, over the reading engine.

Never imports TensorFlow, Keras or `lenet`; reads pictures through `reader` (the engine). Modules:
serving (start-up: arguments, which model, process settings), ui (the page; page_style its stylesheet,
script and legends; training_tab the Training tab), inputs (the trust
boundary: client payloads become bounded images), decode_budget (client pictures decoded in worker
processes under an OS-enforced budget), server_limits (what one request may cost), cache_folder (the
server's disk, shared fairly), private_paths (clients never see a server path), number_view (the boxes picture),
predict (the CLI), deploy (publish a Hugging Face Space).
"""
