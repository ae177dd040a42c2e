"""DualAdapt (Yao et al., WACV 2022): federated multi-target adaptation with global and local classifiers."""
