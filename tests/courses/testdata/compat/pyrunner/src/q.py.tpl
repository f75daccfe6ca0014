def double(x):
@    @body@@
