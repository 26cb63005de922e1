"""Teaching diagrams drawn with plain matplotlib, one module per lesson.

``helpers.diagrams.stack`` (lesson 00), ``tensors`` (lesson 01), ``autograd``
(lesson 02), ``networks`` (lesson 03), ``pipelines`` (lesson 05), ``cnn`` (lesson 06)
and ``export`` (lesson 08). Each function draws onto an ``ax`` it is
given or creates, returns the axes, and depends on nothing but matplotlib and torch.
"""

__all__: list[str] = []
