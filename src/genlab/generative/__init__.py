"""The generative side of genlab: how data are corrupted or transported (``processes``), the
invertible layers of normalizing flows (``flows``), the sampling loops (``samplers``) and the
families that combine a modality, a process and a network (``families``)."""
