"""The TensorFlow (tf.keras) column: adapter, session, Keras models, initializers, probes,
tensor save/load and snippet writer.

Rule: importing this package (or any module in it) never imports TensorFlow;
`adapter.TensorflowAdapter` imports it in `load()`. The registry in `conformance.adapters`
names the adapter.
"""
