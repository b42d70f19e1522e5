"""The TensorFlow (tf.keras) column: the adapter, the idiom its programs are written in, and the
notes' user code in Keras.

Rule: importing this package (or any module in it) never imports TensorFlow;
`adapter.TensorflowAdapter` imports it in `load()`. The registry in `conformance.adapters`
names the adapter.
"""
