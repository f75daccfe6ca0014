public interface Clock {
    int hour();
}
